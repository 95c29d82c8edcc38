from rqjobs import enqueue

def dispatch(queue_name, func, *args):
    return enqueue(queue_name, func, *args)
