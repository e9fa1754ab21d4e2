from django.urls import path

from actions import views

urlpatterns = [
    path("mine/", views.my_action_items, name="my-actions"),
]
