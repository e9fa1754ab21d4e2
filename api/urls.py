from django.urls import path

from api import views

urlpatterns = [
    path("", views.token_list, name="api-tokens"),
    path("new/", views.token_new, name="api-token-new"),
    path("<int:pk>/revoke/", views.token_revoke, name="api-token-revoke"),
]
