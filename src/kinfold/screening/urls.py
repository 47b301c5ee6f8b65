from django.urls import path

from kinfold.screening import views

app_name = "screening"
urlpatterns = [
    path("family/<int:family_id>/new/", views.start, name="start"),
    path("alerts/", views.alerts, name="alerts"),
    path("protocol/", views.protocol, name="protocol"),
    path("alerts/<int:alert_id>/", views.alert, name="alert"),
    path("alerts/<int:alert_id>/close/", views.close_alert, name="close_alert"),
    path("<int:response_id>/", views.detail, name="detail"),
    path("<int:response_id>/fill/", views.fill, name="fill"),
    path("<int:response_id>/link/", views.new_link, name="new_link"),
    path("<int:response_id>/withdraw/", views.withdraw, name="withdraw"),
]
