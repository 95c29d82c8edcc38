// The BullMQ producer of bench/enqueue_speed.py: one process, one Queue, driven by stdin.
//
// Each input line is JSON {"variant", "start", "count", "tag", "batch"}; the process
// enqueues `count` jobs (numbered from `start`) and answers one JSON line
// {"elapsed": seconds, "cpu": seconds of this process's CPU (user + system)}.
// Variants: add, add_dedupe (deduplication {id}, all new ids), add_dedupe_half (every id
// twice in a row), bulk (addBulk in batches of `batch`), bulk_dedupe (addBulk, each job
// with its deduplication id). Usage: node bullmq_bench.js REDIS_URL QUEUE
'use strict';
const readline = require('readline');
const { Queue } = require('bullmq');

const [url, queueName] = process.argv.slice(2);
const parsed = new URL(url);
const connection = { host: parsed.hostname, port: Number(parsed.port), maxRetriesPerRequest: null };
const queue = new Queue(queueName, { connection });

async function run(job) {
  const { variant, start, count, tag } = job;
  const batch = job.batch || 100;
  const began = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const stop = start + count;
  if (variant === 'add') {
    for (let i = start; i < stop; i++) await queue.add('job', { args: ['a', String(i)] });
  } else if (variant === 'add_dedupe') {
    for (let i = start; i < stop; i++) {
      await queue.add('job', { args: ['a', String(i)] }, { deduplication: { id: `b:${tag}:${i}` } });
    }
  } else if (variant === 'add_dedupe_half') {
    for (let i = start; i < stop; i++) {
      const k = Math.floor(i / 2);
      await queue.add('job', { args: ['a', String(k)] }, { deduplication: { id: `h:${tag}:${k}` } });
    }
  } else if (variant === 'bulk' || variant === 'bulk_dedupe') {
    for (let i = start; i < stop; i += batch) {
      const jobs = [];
      for (let j = i; j < Math.min(stop, i + batch); j++) {
        const opts = variant === 'bulk_dedupe' ? { deduplication: { id: `m:${tag}:${j}` } } : {};
        jobs.push({ name: 'job', data: { args: ['a', String(j)] }, opts });
      }
      await queue.addBulk(jobs);
    }
  } else {
    throw new Error(`unknown variant ${variant}`);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    elapsed: Number(process.hrtime.bigint() - began) / 1e9,
    cpu: (cpu.user + cpu.system) / 1e6,
  };
}

async function main() {
  await queue.waitUntilReady();
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const result = await run(JSON.parse(line));
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  await queue.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
