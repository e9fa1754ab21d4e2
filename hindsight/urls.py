from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from hindsight.health import healthz
from postmortems import stakeholder_views
from search.views import search_page

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("incidents.urls")),
    path("incidents/<str:ref>/", include("postmortems.urls")),
    path("actions/", include("actions.urls")),
    path("insights/", include("insights.urls")),
    path("search/", search_page, name="search"),
    path("s/<str:token>/", stakeholder_views.stakeholder, name="stakeholder"),
    path(
        "s/<str:token>/content/",
        stakeholder_views.stakeholder_content,
        name="stakeholder-content",
    ),
    path("s/<str:token>/events/", stakeholder_views.stakeholder_events, name="stakeholder-events"),
]

handler400 = "hindsight.errors.bad_request"
handler403 = "hindsight.errors.permission_denied"
handler404 = "hindsight.errors.page_not_found"
handler500 = "hindsight.errors.server_error"
