from django.contrib import admin
from django.urls import include, path

from config.api import api, api_not_found
from config.views import landing

admin.site.site_header = "L&D Platform operations"
admin.site.site_title = "L&D Platform"
admin.site.index_title = "Operator console"

urlpatterns = [
    path("", landing, name="landing"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("api/<path:rest>", api_not_found),  # after the API's own routes: unknown paths answer JSON 404
    path("slack/", include("chat.slack.urls")),  # Slack events, commands, interactivity (chat.slack)
]
