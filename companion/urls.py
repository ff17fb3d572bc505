from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chat import api as chat_api
from events import api as events_api
from summaries import api as summaries_api

from . import views

api_patterns = [
    path("events/", events_api.event_list, name="api-event-list"),
    path("events/<slug:slug>/", events_api.event_detail, name="api-event-detail"),
    path("events/<slug:slug>/danmaku/", chat_api.danmaku, name="api-danmaku"),
    path("events/<slug:slug>/danmaku/density/", chat_api.danmaku_density, name="api-danmaku-density"),
    path("events/<slug:slug>/summaries/", summaries_api.summaries, name="api-summaries"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("", include("events.urls")),
]
