from django.urls import path

from kinfold.referrals import views

app_name = "referrals"
urlpatterns = [
    path("new/", views.referral_new, name="new"),
    path("inbox/", views.inbox, name="inbox"),
    path("network/", views.network, name="network"),
    path("answer/<str:token>/", views.link_answer, name="link_answer"),
    path("<int:referral_id>/", views.referral_detail, name="detail"),
    path("<int:referral_id>/change/", views.referral_change, name="change"),
]
