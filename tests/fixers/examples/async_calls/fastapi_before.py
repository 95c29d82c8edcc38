from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from app.tasks import sync_order

from rqjobs import enqueue_with_dedupe, get_queue_stats

app = FastAPI()


@app.post("/orders")
async def create_order(request: Request):
    order = await request.json()
    enqueue_with_dedupe("orders", sync_order, order, dedupe_key=order["id"])  # manual: RQJ400
    return {"ok": True}


@app.get("/stats")
async def stats():
    return await run_in_threadpool(get_queue_stats)
