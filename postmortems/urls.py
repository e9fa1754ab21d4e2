from django.urls import path

from postmortems import views

urlpatterns = [
    path("", views.document, name="document"),
    path("history/", views.history, name="history"),
    path("history/<str:kind>/<int:history_id>/revert/", views.revert, name="revert"),
    path("<str:kind>/new/", views.block_new, name="block-new"),
    path("<str:kind>/<int:pk>/", views.block, name="block"),
    path("<str:kind>/<int:pk>/edit/", views.block_edit, name="block-edit"),
    path("<str:kind>/<int:pk>/delete/", views.block_remove, name="block-delete"),
    path("<str:kind>/<int:pk>/move/", views.block_reorder, name="block-move"),
]
