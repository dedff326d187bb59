from django.urls import path

from . import api, views

app_name = "retention"

urlpatterns = [
    path("contacts/<int:contact_id>/panel/", views.contact_panel, name="contact-panel"),
    path("s/<str:signed>/", views.survey_link, name="survey-link"),
    path("reports/", views.reports_page, name="reports"),
    path("reports/<str:name>.csv", views.report_csv, name="report-csv"),
    path("followups/preview/", views.followup_preview, name="followup-preview"),
    path("api/customers/", api.CustomerUpsertApi.as_view(), name="api-customer-upsert"),
    path("api/customers/<int:contact_id>/", api.CustomerMetricsApi.as_view(), name="api-customer"),
    path("api/orders/", api.OrderUpsertApi.as_view(), name="api-order-upsert"),
]
