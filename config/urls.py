from django.contrib import admin
from django.urls import include, path

from config.api import api
from config.views import landing

admin.site.site_header = "L&D Platform operations"
admin.site.site_title = "L&D Platform"
admin.site.index_title = "Operator console"

urlpatterns = [
    path("", landing, name="landing"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("slack/", include("chat.slack.urls")),  # Slack events, commands, interactivity (chat.slack)
]
