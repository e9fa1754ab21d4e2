from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api.chat_views import chat_import
from api.routes import api_urls
from hindsight.health import healthz
from postmortems import stakeholder_views

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls),
    path("account/tokens/", include("api.urls")),
    path("", include("incidents.urls")),
    path("incidents/<str:ref>/chat-import/", chat_import, name="chat-import"),
    path("incidents/<str:ref>/", include("postmortems.urls")),
    path("actions/", include("actions.urls")),
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
