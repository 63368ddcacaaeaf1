from __future__ import annotations

from django.shortcuts import render

from studio.accounts.decorators import workspace_required


@workspace_required
def studio(request):
    return render(request, "front/studio.html")
