from app.scheduler import start_reminder_scheduler, start_session_processor


def boot(app):
    thread = start_reminder_scheduler(app)  # manual: RQJ100
    app.extensions["sessions"] = start_session_processor()  # manual: RQJ100
    return thread
