from django.urls import path

from insights import views

urlpatterns = [
    path("", views.insights, name="insights"),
    path("incidents/", views.incidents_in_bar, name="insights-incidents"),
    path("<slug:key>.csv", views.figure_csv, name="insights-csv"),
    path("seen-before/<str:ref>/", views.recurrence, name="recurrence"),
    path(
        "seen-before/<str:ref>/<str:earlier_ref>/",
        views.recurrence_decision,
        name="recurrence-decide",
    ),
]
