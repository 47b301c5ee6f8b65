from django.contrib.auth import views as auth_views
from django.urls import path

from kinfold.staff import views

app_name = "staff"
# /accounts/…: the second step, her own account, password change and reset, joining by invitation.
account_urlpatterns = [
    path("accounts/second-factor/", views.verify, name="verify"),
    path("accounts/second-factor/set-up/", views.enrol, name="enrol"),
    path("accounts/security/", views.account, name="account"),
    path("accounts/security/recovery-codes/", views.new_recovery_codes, name="recovery_codes"),
    path(
        "accounts/password/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/changed/",
        auth_views.PasswordChangeDoneView.as_view(template_name="staff/password_changed.html"),
        name="password_changed",
    ),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="staff/password_reset_sent.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="staff/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("accounts/join/<str:token>/", views.join, name="join"),
]
# /staff/…: a lead's pages.
staff_urlpatterns = [
    path("staff/", views.staff_list, name="list"),
    path("staff/invite/", views.invite, name="invite"),
    path("staff/invitations/<int:invitation_id>/resend/", views.invitation_action, {"action": "resend"}, name="resend"),
    path(
        "staff/invitations/<int:invitation_id>/withdraw/",
        views.invitation_action,
        {"action": "withdraw"},
        name="withdraw",
    ),
    path("staff/<int:membership_id>/", views.member, name="member"),
    path("staff/<int:membership_id>/second-factor/reset/", views.reset_second_factor, name="reset_second_factor"),
    path("staff/<int:membership_id>/hand-over/", views.hand_over, name="hand_over"),
]
urlpatterns = account_urlpatterns + staff_urlpatterns
