from django.http import HttpResponse


def signup(request):  # placeholder until the accounts pages land
    return HttpResponse(status=501)


guest = token = signup
