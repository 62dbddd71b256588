from django.conf import settings
from django.db import models
from django.urls import reverse


class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("post-detail", args=[self.pk])


class Comment(models.Model):
    MAX_LENGTH = 2000

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    # The comment this one answers: its author gets a notification.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    text = models.TextField(max_length=MAX_LENGTH)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self):
        return f"{self.author}: {self.text[:40]}"

    def as_dict(self):
        """What the page receives, live and in the initial list alike."""
        return {
            "id": self.pk,
            "post": self.post_id,
            "author": self.author.get_username(),
            "author_id": str(self.author_id),
            "parent": self.parent_id,
            "text": self.text,
            "created": self.created.isoformat(),
        }
