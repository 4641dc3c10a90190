from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict[str, object]:
    return {"COMPANY_NAME": settings.COMPANY_NAME, "DEBUG": settings.DEBUG}
