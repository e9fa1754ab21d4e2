from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from actions import ticket_urls
from api.chat_views import chat_import
from api.routes import api_urls
from hindsight.health import healthz
from incidents import sign_in
from postmortems import image_views, stakeholder_views
from search.views import search_page


@login_not_required  # asked for by the sign-in page and stakeholder pages too
@require_GET
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request):
    """Browsers ask every site for /favicon.ico, whatever the page's link tags say."""
    found = finders.find("favicon.ico")
    if not found:
        raise Http404("No icon")
    return FileResponse(open(found, "rb"), content_type="image/x-icon")


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("login/", sign_in.SignInView.as_view(), name="login"),
    path("oidc/authenticate/", sign_in.sso_start, name="oidc_authentication_init"),
    path("oidc/callback/", sign_in.sso_callback, name="oidc_authentication_callback"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls),
    path("account/tokens/", include("api.urls")),
    path("", include("dashboard.urls")),
    path("incidents/<str:ref>/", include("incidents.active_urls")),
    path("incidents/<str:ref>/chat-import/", chat_import, name="chat-import"),
    path("incidents/<str:ref>/meetings/", include("actions.meeting_urls")),
    path("incidents/<str:ref>/", include("postmortems.urls")),
    path("actions/", include("actions.urls")),
    path("premortems/", include("premortems.urls")),
    path("insights/", include("insights.urls")),
    path("search/", search_page, name="search"),
    path("teams/<slug:team>/webhooks/", include("incidents.webhook_urls")),
    path("teams/<slug:team>/tracker/", include(ticket_urls.team_urlpatterns)),
    path("integrations/", include(ticket_urls.webhook_urlpatterns)),
    path("s/<str:token>/", stakeholder_views.stakeholder, name="stakeholder"),
    path(
        "s/<str:token>/content/",
        stakeholder_views.stakeholder_content,
        name="stakeholder-content",
    ),
    path(
        "s/<str:token>/images/<int:pk>/",
        image_views.stakeholder_image,
        name="stakeholder-image",
    ),
    path("s/<str:token>/events/", stakeholder_views.stakeholder_events, name="stakeholder-events"),
]

handler400 = "hindsight.errors.bad_request"
handler403 = "hindsight.errors.permission_denied"
handler404 = "hindsight.errors.page_not_found"
handler500 = "hindsight.errors.server_error"
