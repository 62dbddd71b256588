// The live part of a post's page, shared by examples/django and examples/rails:
// sdk-js (global Centrifuge, from /static/centrifuge.js) connects with the token
// the app put in <script id="live" type="application/json">, then
//   * subscribes to the post's channel: new comments appear, readers are listed
//     (presence, then join/leave);
//   * subscribes to the user's replies channel: notifications;
//   * subscribes to $moderation when the app says the user moderates (the server
//     asks the app's subscribe proxy);
// and posts the comment form with fetch, so the page never reloads.
(function () {
  'use strict';
  const live = JSON.parse(document.getElementById('live').textContent);
  const tokenUrl = JSON.parse(document.getElementById('token-url').textContent);
  const $ = (sel) => document.querySelector(sel);
  const status = $('#live-status');

  function setStatus(text) {
    status.textContent = text;
    status.dataset.state = text;
  }

  function li(text, attrs) {
    const el = document.createElement('li');
    for (const [k, v] of Object.entries(attrs || {})) el.dataset[k] = v;
    el.textContent = text;
    return el;
  }

  // --- comments -------------------------------------------------------------
  const comments = $('#comments');
  function showComment(c) {
    if (comments.querySelector(`li[data-id="${c.id}"]`)) return; // our own, already shown
    const el = document.createElement('li');
    el.dataset.id = String(c.id);
    const who = document.createElement('b');
    who.textContent = c.author;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = c.text;
    el.append(who, ' ', text);
    addReplyButton(el, c);
    comments.append(el);
  }

  // Reply buttons (for logged-in users): the form's hidden "parent".
  const form = $('#comment-form');
  function addReplyButton(el, c) {
    if (!form || c.author_id === live.user) return;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'reply';
    b.textContent = 'reply';
    b.addEventListener('click', () => {
      $('#comment-parent').value = String(c.id);
      const r = $('#replying-to');
      r.querySelector('b').textContent = c.author;
      r.hidden = false;
      $('#comment-text').focus();
    });
    el.append(' ', b);
  }
  for (const el of comments.querySelectorAll('li[data-id]')) {
    addReplyButton(el, { id: el.dataset.id, author: el.querySelector('b').textContent, author_id: el.dataset.author });
  }

  if (form) {
    $('#cancel-reply').addEventListener('click', () => {
      $('#comment-parent').value = '';
      $('#replying-to').hidden = true;
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const button = $('#comment-submit');
      button.disabled = true;
      try {
        const r = await fetch(form.action, {
          method: 'POST', body: new FormData(form), headers: { Accept: 'application/json' }, credentials: 'same-origin',
        });
        const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
        if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
        showComment(body.comment);
        form.reset();
        $('#comment-parent').value = '';
        $('#replying-to').hidden = true;
      } catch (err) {
        alert(`Your comment was not posted: ${err.message}`);
      } finally {
        button.disabled = false;
      }
    });
  }

  // --- readers (presence) ---------------------------------------------------
  const readers = new Map(); // client id -> name
  function connInfo(info) {
    return (info && (info.conn_info || info.connInfo)) || {};
  }
  function renderReaders() {
    const names = [...new Set(readers.values())].sort();
    $('#readers').replaceChildren(...names.map((n) => li(n, { name: n })));
  }

  // --- the client -----------------------------------------------------------
  if (!live.token) {
    setStatus('offline');
    return;
  }
  const client = new Centrifuge(live.endpoint, {
    token: live.token,
    // A fresh token from the app when this one expires (or was revoked).
    getToken: async () => {
      const r = await fetch(tokenUrl, { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`token: HTTP ${r.status}`);
      return (await r.json()).token;
    },
  });
  client.on('connecting', () => setStatus('connecting'));
  client.on('connected', () => setStatus('live'));
  client.on('disconnected', (ctx) => {
    setStatus('disconnected');
    status.title = `${ctx.code} ${ctx.reason}`;
    readers.clear();
    renderReaders();
  });

  const sub = client.newSubscription(live.channel, { joinLeave: true });
  sub.on('publication', (ctx) => {
    if (ctx.data && ctx.data.type === 'comment') showComment(ctx.data.comment);
  });
  sub.on('subscribed', async () => {
    try {
      const p = await sub.presence();
      readers.clear();
      for (const [id, info] of Object.entries(p.clients)) readers.set(id, connInfo(info).name || info.user);
      renderReaders();
    } catch (err) {
      console.error('presence', err);
    }
  });
  sub.on('join', (ctx) => {
    readers.set(ctx.info.client, connInfo(ctx.info).name || ctx.info.user);
    renderReaders();
  });
  sub.on('leave', (ctx) => {
    readers.delete(ctx.info.client);
    renderReaders();
  });
  sub.subscribe();

  if (live.replies) {
    const replies = client.newSubscription(live.replies);
    replies.on('publication', (ctx) => {
      const n = ctx.data;
      $('#notifications').prepend(li(`${n.from} replied on “${n.post_title}”: ${n.text}`, { comment: n.comment }));
    });
    replies.subscribe();
  }

  if (live.moderation) {
    const mod = client.newSubscription(live.moderation);
    mod.on('publication', (ctx) => {
      const c = ctx.data.comment;
      $('#moderation').prepend(li(`${c.author} on “${ctx.data.post_title}”: ${c.text}`, { id: c.id }));
    });
    mod.on('subscribed', () => { $('#moderation').dataset.state = 'subscribed'; });
    mod.on('error', (ctx) => { $('#moderation').dataset.state = `error ${ctx.error && ctx.error.code}`; });
    mod.subscribe();
  }

  client.connect();
  window.blogLive = { client, sub }; // for the browser tests and the console
})();
