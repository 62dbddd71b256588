"""Demo data: users alice, bob (readers), carol (a moderator), admin (superuser,
for Django's admin), all with the password given (default "password"), and
two posts. Running it again changes nothing that exists."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from blog.models import Post

POSTS = [
    ("I will no longer reload the page before posting a comment",
     "Comments on this page arrive as they are written: Django saves them and publishes them "
     "to Centrifuge, which pushes them to every reader's browser."),
    ("Who is reading?", "The list on the right is the channel's presence: every reader's connection."),
]


class Command(BaseCommand):
    help = "Create the demo users and posts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="password", help="password of the new users")

    def handle(self, *args, password, **options):
        User = get_user_model()
        moderators, _ = Group.objects.get_or_create(name="moderators")
        users = {}
        for name, staff, superuser in [("alice", False, False), ("bob", False, False),
                                       ("carol", False, False), ("admin", True, True)]:
            user = User.objects.filter(username=name).first()
            if user is None:
                user = User(username=name, is_staff=staff, is_superuser=superuser)
                user.set_password(password)
                user.save()
                self.stdout.write(f"user {name} created")
            users[name] = user
        users["carol"].groups.add(moderators)
        for title, body in POSTS:
            _, created = Post.objects.get_or_create(title=title, defaults={"body": body, "author": users["admin"]})
            if created:
                self.stdout.write(f"post {title!r} created")
