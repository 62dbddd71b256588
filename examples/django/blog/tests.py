"""The blog against a real Centrifuge server (bin/centrifuge, or CENTRIFUGE_BIN),
started for these tests with examples/centrifuge.yaml.tmpl on a free port. The
tests are LiveServerTestCases: the server's subscribe proxy and connection check
reach this process's Django."""

import json
import os
import re
import signal
import socket
import string
import subprocess
import tempfile
import time
from pathlib import Path

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import LiveServerTestCase, override_settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from centrifuge_sdk.django import connection_token, get_client

from .models import Comment, Post

EXAMPLES = Path(__file__).resolve().parents[2]
REPO = EXAMPLES.parent
SECRET = "django-test-secret-0123456789abcdef"
API_KEY = "django-test-api-key-0123456789"
PROXY_KEY = "django-test-proxy-key-0123456789"
CHECK_INTERVAL = 1.0


def server_binary():
    path = os.environ.get("CENTRIFUGE_BIN") or str(REPO / "bin" / "centrifuge")
    if not Path(path).is_file():
        raise RuntimeError(f"{path} does not exist: run `make build` (or set CENTRIFUGE_BIN)")
    return path


class CentrifugeServer:
    """bin/centrifuge with the examples' config, on a free port."""

    def __init__(self, django_url):
        self.dir = tempfile.mkdtemp(prefix="blog-test-")
        values = {
            "PORT": "0", "ORIGINS": json.dumps([django_url]), "DJANGO_URL": django_url,
            "DJANGO_SECRET": SECRET, "DJANGO_API_KEY": API_KEY, "PROXY_KEY": PROXY_KEY,
            "CHECK_LIFETIME": "1s", "CHECK_INTERVAL": f"{CHECK_INTERVAL:g}s",
            "RAILS_SECRET": "rails-unused-secret-0123456789", "RAILS_API_KEY": "rails-unused-key",
        }
        tmpl = (EXAMPLES / "centrifuge.yaml.tmpl").read_text()
        config = Path(self.dir) / "config.yaml"
        config.write_text(string.Template(tmpl).substitute(values))
        self.log = open(Path(self.dir) / "server.log", "w+")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRIFUGE_")}
        self.proc = subprocess.Popen([server_binary(), "serve", "--config", str(config)],
                                     stdout=self.log, stderr=self.log, env=env)
        deadline = time.monotonic() + 10
        while True:
            self.log.seek(0)
            m = re.search(r'msg="?listening"?.*?addr="?127\.0\.0\.1:(\d+)', self.log.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start:\n{self.output()}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/connection/django/websocket"

    def output(self):
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class WS:
    """A raw protocol client: what sdk-js does, frame by frame."""

    def __init__(self, url, token, origin):
        self.conn = connect(url, origin=origin, open_timeout=5)
        self.ids = 0
        reply = self.call("connect", {"token": token})
        assert "connect" in reply, reply

    def call(self, method, params, timeout=5):
        self.ids += 1
        self.conn.send(json.dumps({"id": self.ids, method: params}))
        deadline = time.monotonic() + timeout
        while True:
            for line in self.conn.recv(timeout=max(0.01, deadline - time.monotonic())).splitlines():
                if line.strip():
                    frame = json.loads(line)
                    if frame.get("id") == self.ids:
                        return frame

    def wait_closed(self, timeout):
        """The close code, or None if the connection is still open after timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.conn.recv(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        return None

    def close(self):
        self.conn.close()


class BlogTestCase(LiveServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.centrifuge = CentrifugeServer(cls.live_server_url)
        cls.settings = override_settings(
            CENTRIFUGE_ADDRESS=cls.centrifuge.url, CENTRIFUGE_API_KEY=API_KEY,
            CENTRIFUGE_SECRET=SECRET, BLOG_PROXY_KEY=PROXY_KEY,
        )
        cls.settings.enable()

    @classmethod
    def tearDownClass(cls):
        cls.settings.disable()
        cls.centrifuge.stop()
        super().tearDownClass()

    def setUp(self):
        self.alice = User.objects.create_user("alice", password="pw")
        self.bob = User.objects.create_user("bob", password="pw")
        self.carol = User.objects.create_user("carol", password="pw")
        self.carol.groups.add(Group.objects.create(name="moderators"))
        self.post = Post.objects.create(title="Hello", body="World", author=self.alice)
        self.sockets = []

    def tearDown(self):
        for s in self.sockets:
            s.close()

    def ws(self, user):
        s = WS(self.centrifuge.ws_url, connection_token(user), self.live_server_url)
        self.sockets.append(s)
        return s

    def history(self, channel):
        return [p.data for p in get_client().history(channel, limit=-1).publications]

    def comment(self, user, text, parent=None, json_reply=True):
        self.client.force_login(user)
        data = {"text": text}
        if parent is not None:
            data["parent"] = str(parent.pk)
        headers = {"HTTP_ACCEPT": "application/json"} if json_reply else {}
        return self.client.post(f"/posts/{self.post.pk}/comments", data, **headers)


class CommentTests(BlogTestCase):
    def test_comment_is_saved_and_published_to_the_post_and_the_moderators(self):
        r = self.comment(self.bob, "first!")
        self.assertEqual(r.status_code, 201, r.content)
        body = r.json()
        self.assertTrue(body["live"])
        saved = Comment.objects.get()
        self.assertEqual((saved.text, saved.author), ("first!", self.bob))
        self.assertEqual(body["comment"]["id"], saved.pk)
        [pub] = self.history(f"comments:post-{self.post.pk}")
        self.assertEqual(pub, {"type": "comment", "comment": saved.as_dict()})

    def test_a_reply_notifies_only_the_parents_author(self):
        self.comment(self.alice, "what do you think?")
        parent = Comment.objects.get()
        r = self.comment(self.bob, "I agree", parent=parent)
        self.assertEqual(r.status_code, 201, r.content)
        [note] = self.history(f"notifications:replies#{self.alice.pk}")
        self.assertEqual((note["type"], note["from"], note["text"]), ("reply", "bob", "I agree"))
        self.assertEqual(self.history(f"notifications:replies#{self.bob.pk}"), [])
        # Answering oneself notifies nobody.
        self.comment(self.alice, "me again", parent=parent)
        self.assertEqual(len(self.history(f"notifications:replies#{self.alice.pk}")), 1)

    def test_the_form_without_javascript_redirects_to_the_post(self):
        r = self.comment(self.bob, "plain form", json_reply=False)
        self.assertRedirects(r, f"/posts/{self.post.pk}/")
        self.assertEqual(Comment.objects.get().text, "plain form")

    def test_bad_comments_are_refused_with_a_message(self):
        other = Post.objects.create(title="Other", body="x", author=self.alice)
        foreign = Comment.objects.create(post=other, author=self.alice, text="elsewhere")
        for data, want in [({"text": "  "}, "needs some text"),
                           ({"text": "x" * (Comment.MAX_LENGTH + 1)}, "at most"),
                           ({"text": "hi", "parent": str(foreign.pk)}, "does not exist"),
                           ({"text": "hi", "parent": "abc"}, "does not exist")]:
            self.client.force_login(self.bob)
            r = self.client.post(f"/posts/{self.post.pk}/comments", data, HTTP_ACCEPT="application/json")
            self.assertEqual(r.status_code, 400, data)
            self.assertIn(want, r.json()["error"])
        self.assertEqual(Comment.objects.filter(post=self.post).count(), 0)
        self.assertEqual(self.client.post("/posts/999/comments", {"text": "hi"}).status_code, 404)

    def test_anonymous_visitors_read_but_must_log_in_to_comment(self):
        r = self.client.post(f"/posts/{self.post.pk}/comments", {"text": "hi"})
        self.assertRedirects(r, f"/accounts/login/?next=/posts/{self.post.pk}/comments", fetch_redirect_response=False)
        page = self.client.get(f"/posts/{self.post.pk}/")
        live = page.context["live"]
        self.assertEqual((live["user"], live["replies"], live["moderation"]), ("", None, None))
        # The anonymous token subscribes to the comments (allow_anonymous), and only there.
        s = WS(self.centrifuge.ws_url, live["token"], self.live_server_url)
        self.sockets.append(s)
        self.assertNotIn("error", s.call("subscribe", {"channel": live["channel"]}))
        self.assertEqual(s.call("subscribe", {"channel": f"notifications:replies#{self.alice.pk}"})["error"]["code"], 103)

    def test_a_failed_publish_keeps_the_comment_and_says_so(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        with override_settings(CENTRIFUGE_ADDRESS=f"http://127.0.0.1:{closed}"):
            with self.assertLogs("blog.views", "ERROR"):
                r = self.comment(self.bob, "saved anyway")
            self.assertEqual(r.status_code, 201)
            self.assertFalse(r.json()["live"])
            with self.assertLogs("blog.views", "ERROR"):
                r = self.comment(self.bob, "form", json_reply=False)
            self.assertEqual(r.status_code, 302)
            page = self.client.get(r["Location"])
            self.assertContains(page, "other readers will see it when they reload")
        self.assertEqual(Comment.objects.count(), 2)


class PageTests(BlogTestCase):
    def test_the_page_gives_each_user_their_channels(self):
        self.client.force_login(self.carol)
        page = self.client.get(f"/posts/{self.post.pk}/")
        self.assertContains(page, 'src="/static/centrifuge.js"')
        live = page.context["live"]
        self.assertEqual(live["channel"], f"comments:post-{self.post.pk}")
        self.assertEqual(live["replies"], f"notifications:replies#{self.carol.pk}")
        self.assertEqual(live["moderation"], "$moderation")
        self.assertEqual(live["endpoint"], self.centrifuge.ws_url)
        self.client.force_login(self.bob)
        self.assertIsNone(self.client.get(f"/posts/{self.post.pk}/").context["live"]["moderation"])

    def test_token_endpoint_and_presence_info(self):
        self.client.force_login(self.bob)
        tok = self.client.get("/centrifuge/token").json()["token"]
        s = WS(self.centrifuge.ws_url, tok, self.live_server_url)
        self.sockets.append(s)
        ch = f"comments:post-{self.post.pk}"
        s.call("subscribe", {"channel": ch})
        presence = s.call("presence", {"channel": ch})["presence"]["presence"]
        [info] = presence.values()
        self.assertEqual((info["user"], info["conn_info"]), (str(self.bob.pk), {"name": "bob"}))


class SubscribeProxyTests(BlogTestCase):
    def proxy(self, body, key=PROXY_KEY):
        return self.client.post("/centrifuge/subscribe", body if isinstance(body, str) else json.dumps(body),
                                content_type="application/json", HTTP_X_BLOG_PROXY_KEY=key)

    def test_moderators_only(self):
        ok = self.proxy({"user": str(self.carol.pk), "channel": "$moderation", "client": "c"})
        self.assertEqual(ok.json(), {"result": {"info": {"moderator": "carol"}}})
        for body in [{"user": str(self.alice.pk), "channel": "$moderation"},
                     {"user": "", "channel": "$moderation"},
                     {"user": str(self.carol.pk), "channel": "$other"},
                     {"user": "999", "channel": "$moderation"}]:
            self.assertEqual(self.proxy(body).json()["error"]["code"], 103, body)
        self.carol.is_active = False
        self.carol.save()
        self.assertEqual(self.proxy({"user": str(self.carol.pk), "channel": "$moderation"}).json()["error"]["code"], 103)

    def test_only_the_server_may_ask(self):
        self.assertEqual(self.proxy({"user": "1", "channel": "$moderation"}, key="wrong").status_code, 403)
        self.assertEqual(self.proxy({"user": "1", "channel": "$moderation"}, key="").status_code, 403)
        self.assertEqual(self.proxy("not json").status_code, 400)
        self.assertEqual(self.proxy({"user": 1, "channel": "$moderation"}).status_code, 400)
        self.assertEqual(self.proxy("x" * 70000).status_code, 400)
        self.assertEqual(self.client.get("/centrifuge/subscribe").status_code, 405)

    def test_through_the_server(self):
        s = self.ws(self.carol)
        reply = s.call("subscribe", {"channel": "$moderation"})
        self.assertNotIn("error", reply)
        r = self.comment(self.bob, "please moderate")
        self.assertEqual(r.status_code, 201)
        deadline = time.monotonic() + 5
        pub = None
        while pub is None and time.monotonic() < deadline:
            for line in s.conn.recv(timeout=5).splitlines():
                frame = json.loads(line) if line.strip() else {}
                push = frame.get("push", {})
                if push.get("channel") == "$moderation" and "pub" in push:
                    pub = push["pub"]["data"]
        self.assertEqual(pub["comment"]["text"], "please moderate")
        self.assertEqual(self.ws(self.alice).call("subscribe", {"channel": "$moderation"})["error"]["code"], 103)


class ConnectionCheckTests(BlogTestCase):
    def check(self, body, key=PROXY_KEY):
        return self.client.post(f"/centrifuge/check/{key}", json.dumps(body), content_type="application/json")

    def test_names_deactivated_and_deleted_users(self):
        self.bob.is_active = False
        self.bob.save()
        r = self.check({"users": [str(self.alice.pk), str(self.bob.pk), "999", "x"]})
        self.assertEqual(r.json(), {"inactive": [str(self.bob.pk), "999", "x"]})
        self.assertEqual(self.check({"users": []}).json(), {"inactive": []})

    def test_refuses_strangers_and_bad_bodies(self):
        self.assertEqual(self.check({"users": []}, key="wrong").status_code, 403)
        for body in [{}, {"users": "1"}, {"users": [1]}, [], {"users": ["1"] * 1001}]:
            self.assertEqual(self.check(body).status_code, 400, body)

    def test_a_deactivated_user_loses_the_live_feed(self):
        alice, bob = self.ws(self.alice), self.ws(self.bob)
        for s in (alice, bob):
            s.call("subscribe", {"channel": f"comments:post-{self.post.pk}"})
        self.bob.is_active = False
        self.bob.save()
        # Connections older than the lifetime (1s) are checked every interval (1s).
        self.assertEqual(bob.wait_closed(1 + 2 * CHECK_INTERVAL + 1), 3503)
        self.assertIsNone(alice.wait_closed(0.5))


class LogTests(BlogTestCase):
    def test_the_request_log_hides_the_check_key(self):
        import logging

        with self.assertLogs("django.server", "INFO") as logs:
            logging.getLogger("django.server").info('"%s" %s %s', f"POST /centrifuge/check/{PROXY_KEY} HTTP/1.1", 200, 17)
        out = "\n".join(logs.output)
        self.assertNotIn(PROXY_KEY, out)
        self.assertIn("/centrifuge/check/[redacted] HTTP/1.1", out)


class CheckTests(BlogTestCase):
    def test_manage_py_check(self):
        call_command("check")
        with override_settings(CENTRIFUGE_API_KEY=None, BLOG_PROXY_KEY=""):
            with self.assertRaisesRegex(SystemCheckError, r"(?s)centrifuge\.E003.*blog\.E001|blog\.E001.*centrifuge\.E003"):
                call_command("check")
