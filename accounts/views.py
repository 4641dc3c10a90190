from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html")


# Placeholders until the pages land.
account_list = home
account_create = home
account_detail = home
account_edit = home
contact_create = home
contact_edit = home
contact_delete = home
subscription_create = home
subscription_edit = home
subscription_delete = home
activity_create = home
task_create = home
task_list = home
task_edit = home
task_complete = home
task_snooze = home
goal_create = home
goal_edit = home
