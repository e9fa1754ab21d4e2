from django.urls import path

from postmortems import live_views, publish_views, views, wording_views

urlpatterns = [
    path("", views.document, name="document"),
    path("publishing/", publish_views.publishing, name="publishing"),
    path("publishing/review/", publish_views.publish_submit, name="publish-submit"),
    path("publishing/draft/", publish_views.publish_return, name="publish-return"),
    path("publishing/publish/", publish_views.publish, name="publish"),
    path("publishing/resolve/", publish_views.publish_resolve, name="publish-resolve"),
    path("publishing/summary/", publish_views.summary_send, name="summary-send"),
    path("publishing/links/", publish_views.share_link_new, name="share-link-new"),
    path(
        "publishing/links/<int:pk>/revoke/",
        publish_views.share_link_withdraw,
        name="share-link-revoke",
    ),
    path("export.md", publish_views.export_markdown, name="export-markdown"),
    path("export.pdf", publish_views.export_pdf, name="export-pdf"),
    path("history/", views.history, name="history"),
    path("history/<str:kind>/<int:history_id>/revert/", views.revert, name="revert"),
    path("events/", live_views.document_events, name="document-events"),
    path("changes/", live_views.document_changes, name="document-changes"),
    path("presence/", live_views.presence_beat, name="presence"),
    path("presence/leave/", live_views.presence_leave, name="presence-leave"),
    path("<str:kind>/<int:pk>/autosave/", live_views.block_autosave, name="block-autosave"),
    path("conflicts/<int:pk>/resolve/", live_views.conflict_resolve, name="conflict-resolve"),
    path("wording/<str:kind>/", wording_views.wording_notes, name="wording-notes"),
    path("publishing/wording/", publish_views.wording_acknowledge_view, name="wording-acknowledge"),
    path("<str:kind>/list/", live_views.block_list, name="block-list"),
    path("<str:kind>/new/", views.block_new, name="block-new"),
    path("<str:kind>/<int:pk>/", views.block, name="block"),
    path("<str:kind>/<int:pk>/edit/", views.block_edit, name="block-edit"),
    path("<str:kind>/<int:pk>/delete/", views.block_remove, name="block-delete"),
    path("<str:kind>/<int:pk>/move/", views.block_reorder, name="block-move"),
]
