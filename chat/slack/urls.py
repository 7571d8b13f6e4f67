from django.urls import path

from chat.slack.views import slack_events

urlpatterns = [path("events", slack_events, name="slack-events")]
