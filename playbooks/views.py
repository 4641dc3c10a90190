"""Pages of the playbooks app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from playbooks.models import PlaybookTemplate, Rule, RuleRun


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "playbooks/rule_list.html", {"rules": Rule.objects.all()})


@login_required
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "playbooks/rule_detail.html", {"rule": get_object_or_404(Rule, pk=pk)})


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "playbooks/run_detail.html", {"run": get_object_or_404(RuleRun, pk=pk)})


@login_required
def playbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(PlaybookTemplate, pk=pk)
    return render(request, "playbooks/playbook_detail.html", {"playbook": playbook})


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    return render(request, "playbooks/webhook_list.html", {})


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    return render(request, "playbooks/notification_list.html", {})
