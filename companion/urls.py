from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from chat import api as chat_api
from events import api as events_api
from polls import api as polls_api
from summaries import api as summaries_api

from . import views

api_patterns = [
    path("events/", events_api.event_list, name="api-event-list"),
    path("events/<slug:slug>/", events_api.event_detail, name="api-event-detail"),
    path("events/<slug:slug>/danmaku/", chat_api.danmaku, name="api-danmaku"),
    path("events/<slug:slug>/danmaku/density/", chat_api.danmaku_density, name="api-danmaku-density"),
    path("events/<slug:slug>/summaries/", summaries_api.summaries, name="api-summaries"),
    path("events/<slug:slug>/schedule/", events_api.event_schedule, name="api-event-schedule"),
    path("events/<slug:slug>/go-live/", events_api.event_go_live, name="api-event-go-live"),
    path("events/<slug:slug>/end/", events_api.event_end, name="api-event-end"),
    path("events/<slug:slug>/stats/", events_api.stats, name="api-stats"),
    path("events/<slug:slug>/moments/", events_api.moments, name="api-moments"),
    path("events/<slug:slug>/polls/", polls_api.event_polls, name="api-event-polls"),
    path("polls/<int:poll_id>/", polls_api.poll_detail, name="api-poll-detail"),
    path("polls/<int:poll_id>/launch/", polls_api.poll_launch, name="api-poll-launch"),
    path("polls/<int:poll_id>/close/", polls_api.poll_close, name="api-poll-close"),
    path("polls/<int:poll_id>/vote/", polls_api.poll_vote, name="api-poll-vote"),
    path("polls/<int:poll_id>/results/", polls_api.poll_results, name="api-poll-results"),
    path("polls/<int:poll_id>/results.csv", polls_api.poll_results_csv, name="api-poll-results-csv"),
    path("metrics/", chat_api.metrics, name="api-metrics"),
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
