from django.urls import path

from . import views

urlpatterns = [
    path("", views.post_list, name="post-list"),
    path("posts/<int:pk>/", views.post_detail, name="post-detail"),
    path("posts/<int:pk>/comments", views.add_comment, name="add-comment"),
    path("centrifuge/token", views.token, name="centrifuge-token"),
    path("centrifuge/subscribe", views.subscribe_proxy, name="centrifuge-subscribe"),
    path("centrifuge/check/<str:key>", views.connection_check, name="centrifuge-check"),
]
