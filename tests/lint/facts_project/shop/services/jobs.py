"""The shop's wrapper: the runtime's enqueue, under the name the shop has always used."""

from rqjobs import enqueue

enqueue_job = enqueue
