from rqjobs import enqueue, get_redis


def send_welcome(user_id, fast):
    # Two spellings of the wrapper's client: the first pass makes both get_redis(), the
    # second sees one value for conn and rewrites the queue, and with it the enqueue.
    if fast:
        conn = get_redis()
    else:
        conn = get_redis()
    enqueue("emails", print, user_id)
