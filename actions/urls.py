from django.urls import path

from actions import ticket_views, views

urlpatterns = [
    path("mine/", views.my_action_items, name="my-actions"),
    path("review/", views.review, name="action-review"),
    path("review/print/", views.review_print, name="action-review-print"),
    path("review/mark/", views.review_mark, name="action-review-mark"),
    path("preferences/", views.nag_preferences, name="nag-preferences"),
    path("meetings/<str:ref>/", views.review_meetings, name="review-meetings"),
    path("<int:pk>/", views.item_detail, name="action-item"),
    path("<int:pk>/row/", views.item_row, name="action-row"),
    path("<int:pk>/update/", views.item_update, name="action-update"),
    path("<int:pk>/snooze/", views.item_snooze, name="action-snooze"),
    path("<int:pk>/ticket/", ticket_views.ticket_new, name="action-ticket-new"),
    path("<int:pk>/recheck/", views.item_recheck, name="action-recheck"),
    path(
        "premortems/<int:premortem>/groups/<int:group>/",
        views.premortem_item_new,
        name="premortem-action-item",
    ),
]
