from django.urls import path

from campaigns import views

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_create, name="campaign-create"),
    path("<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign-edit"),
    path("<int:pk>/control/<str:action>/", views.campaign_control, name="campaign-control"),
    path("<int:pk>/refresh/", views.campaign_refresh, name="campaign-refresh"),
    path("<int:pk>/push/", views.campaign_push, name="campaign-push"),
    path("<int:pk>/push/retry/", views.campaign_push_retry, name="campaign-push-retry"),
    path("<int:pk>/cancel/", views.call_jobs_cancel, name="call-jobs-cancel"),
    path("<int:pk>/export.csv", views.campaign_export, name="campaign-export"),
    path("<int:pk>/jobs/<int:job_pk>/", views.call_job_detail, name="call-job-detail"),
    path("<int:pk>/upload/", views.number_list_upload, name="number-list-upload"),
    path("<int:pk>/lists/<int:list_pk>/", views.number_list_detail, name="number-list-detail"),
    path("<int:pk>/lists/<int:list_pk>/errors.csv", views.number_list_errors, name="number-list-errors"),
    path("do-not-call/", views.dnc_list, name="dnc-list"),
]
