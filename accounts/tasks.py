from celery import shared_task

from accounts import services


@shared_task
def financials_refresh_all() -> int:
    return services.account_financials_refresh()
