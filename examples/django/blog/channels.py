"""The channels of project "django" (examples/config.sh declares their namespaces):

* ``comments:post-<id>``: new comments of a post, with presence and join/leave
  (namespace ``comments``: anonymous visitors may read it too);
* ``notifications:replies#<user id>``: replies to a user's comments; the server
  lets only that user subscribe (a user-limited channel);
* ``$moderation``: every new comment, for moderators; private, so the server
  asks this app's subscribe-proxy view whether the user may subscribe.
"""

MODERATION = "$moderation"


def post_channel(post_id):
    return f"comments:post-{post_id}"


def replies_channel(user_id):
    return f"notifications:replies#{user_id}"


def is_moderator(user):
    return user.is_active and (user.is_staff or user.groups.filter(name="moderators").exists())
