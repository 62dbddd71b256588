import hmac
import json
import logging

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from centrifuge_sdk import Batch, CentrifugeError, reply_error
from centrifuge_sdk.django import aconnection_token, connection_token, get_client, websocket_url

from .channels import MODERATION, is_moderator, post_channel, replies_channel
from .models import Comment, Post

logger = logging.getLogger(__name__)

# The proxy views read at most this much (the server sends a few hundred bytes).
MAX_PROXY_BODY = 64 * 1024


def token_info(user):
    """What other readers see of this connection in presence and join/leave."""
    return {"name": user.get_username()} if user.is_authenticated else {"name": "anonymous"}


def post_list(request):
    return render(request, "blog/post_list.html", {"posts": Post.objects.select_related("author")})


def post_detail(request, pk):
    post = get_object_or_404(Post.objects.select_related("author"), pk=pk)
    comments = [c.as_dict() for c in post.comments.select_related("author")]
    user = request.user
    live = {
        "endpoint": websocket_url(),
        "token": connection_token(user, info=token_info(user)),
        "post": post.pk,
        "channel": post_channel(post.pk),
        "replies": replies_channel(user.pk) if user.is_authenticated else None,
        "moderation": MODERATION if user.is_authenticated and is_moderator(user) else None,
        "user": str(user.pk) if user.is_authenticated else "",
        "username": user.get_username() if user.is_authenticated else "",
    }
    return render(request, "blog/post_detail.html", {
        "post": post,
        "comments": comments,
        "live": live,
    })


@require_GET
async def token(request):
    """sdk-js's getToken: a fresh connection token when the page's one expires.
    An async view: the user is loaded without blocking the event loop."""
    user = await request.auser()
    return JsonResponse({"token": await aconnection_token(request, info=token_info(user))})


def _wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def add_comment(request, pk):
    post = get_object_or_404(Post, pk=pk)
    text = request.POST.get("text", "").strip()
    error = None
    if not text:
        error = "A comment needs some text."
    elif len(text) > Comment.MAX_LENGTH:
        error = f"A comment has at most {Comment.MAX_LENGTH} characters."
    parent = None
    if not error and request.POST.get("parent"):
        try:
            parent = post.comments.select_related("author").get(pk=int(request.POST["parent"]))
        except (ValueError, Comment.DoesNotExist):
            error = "The comment you answer does not exist on this post."
    if error:
        if _wants_json(request):
            return JsonResponse({"error": error}, status=400)
        messages.error(request, error)
        return redirect(post)

    comment = Comment.objects.create(post=post, author=request.user, parent=parent, text=text)
    data = comment.as_dict()
    live = publish_comment(post, comment, data)
    if _wants_json(request):
        return JsonResponse({"comment": data, "live": live}, status=201)
    if not live:
        messages.warning(request, "Your comment is saved; other readers will see it when they reload.")
    return redirect(post)


def publish_comment(post, comment, data):
    """Publishes a new comment: to its post's channel, to the moderators, and a
    notification to the author of the comment it answers. One request (batch).
    A failure is logged and reported to the caller: the comment is saved anyway."""
    batch = Batch().publish(post_channel(post.pk), {"type": "comment", "comment": data})
    batch.publish(MODERATION, {"type": "comment", "comment": data, "post_title": post.title})
    parent = comment.parent
    if parent is not None and parent.author_id != comment.author_id:
        batch.publish(replies_channel(parent.author_id), {
            "type": "reply", "post": post.pk, "post_title": post.title,
            "from": comment.author.get_username(), "text": comment.text, "comment": comment.pk,
        })
    try:
        replies = get_client().batch(batch)
        for reply in replies:
            err = reply_error("publish", reply.error)
            if err is not None:
                raise err
    except CentrifugeError:
        logger.exception("publishing comment %s failed", comment.pk)
        return False
    return True


def _proxy_key_ok(given):
    from django.conf import settings

    key = settings.BLOG_PROXY_KEY
    return bool(key) and hmac.compare_digest(given.encode(), key.encode())


def _json_body(request):
    if len(request.body) > MAX_PROXY_BODY:
        return None
    try:
        body = json.loads(request.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@csrf_exempt
@require_POST
def subscribe_proxy(request):
    """The server's subscribe_proxy: may ``user`` subscribe to ``channel``?
    Only ``$moderation``, and only for active moderators (staff or the group
    "moderators"). Refusals are the protocol's 103 (permission denied)."""
    if not _proxy_key_ok(request.headers.get("X-Blog-Proxy-Key", "")):
        return HttpResponseForbidden("wrong or missing X-Blog-Proxy-Key\n")
    body = _json_body(request)
    if body is None or not isinstance(body.get("channel"), str) or not isinstance(body.get("user"), str):
        return HttpResponseBadRequest("expected a JSON object with string user and channel\n")
    denied = {"error": {"code": 103, "message": "permission denied"}}
    if body["channel"] != MODERATION or not body["user"].isdigit():
        return JsonResponse(denied)
    user = get_user_model().objects.filter(pk=int(body["user"])).first()
    if user is None or not is_moderator(user):
        return JsonResponse(denied)
    return JsonResponse({"result": {"info": {"moderator": user.get_username()}}})


@csrf_exempt
@require_POST
def connection_check(request, key):
    """The server's connection check: which of ``users`` must be disconnected?
    Those deleted or deactivated (in the admin, say)."""
    if not _proxy_key_ok(key):
        return HttpResponseForbidden("wrong key\n")
    body = _json_body(request)
    users = body.get("users") if body else None
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users) or len(users) > 1000:
        return HttpResponseBadRequest("expected {\"users\": [up to 1000 strings]}\n")
    ids = {int(u) for u in users if u.isdigit()}
    active = {
        str(pk) for pk in get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True)
    }
    return JsonResponse({"inactive": [u for u in users if u not in active]})
