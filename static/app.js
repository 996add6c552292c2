// SPDX-License-Identifier: MIT
// chatd demo page: join a room, chat, see presence and who is there; shows
// the room's recent messages on joining and, after a reconnect, recovers
// what it missed (?since=OFFSET&epoch=EPOCH) when the server keeps history.
// No framework, no build step; runs under a strict Content-Security-Policy.
'use strict';

(function () {
  const ROOM_RE = /^[A-Za-z0-9._:-]{1,128}$/;
  const MAX_SHOWN = 500;            // messages kept on screen
  const BACKOFF_MIN = 500;          // ms, first reconnect delay (before jitter)
  const BACKOFF_MAX = 15000;        // ms, cap of the delay
  const HISTORY = 50;               // messages asked for on joining

  const $ = (id) => document.getElementById(id);
  const ui = {
    state: $('state'), join: $('join'), room: $('room'), name: $('name'),
    where: $('where'), list: $('messages'), composer: $('composer'),
    input: $('input'), send: $('send'), members: $('members'),
  };

  // The endpoint prefix: filled in by chatd, else guessed from our path.
  function prefix() {
    const m = document.querySelector('meta[name="chatd-prefix"]');
    const v = m ? m.getAttribute('content') : '';
    if (v && v.charAt(0) === '/') return v;
    const p = location.pathname.replace(/\/[^/]*$/, '');
    return p || '/api/chat-api';
  }

  const state = {
    ws: null, room: '', name: '', myId: '', attempt: 0, timer: 0, wanted: false,
    names: new Map(),               // client id -> display name seen in its messages
    offset: null, epoch: '',        // the last message's place in the room's history
    members: new Map(),             // client id -> joined (the room's member list)
  };

  function setState(s, text) {
    ui.state.dataset.state = s;
    ui.state.textContent = text;
    const open = s === 'open';
    ui.input.disabled = !open;
    ui.send.disabled = !open;
  }

  function timeOf(ts) {
    const d = ts ? new Date(ts) : new Date();
    return isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function who(id) {
    if (id === state.myId) return state.name + ' (you)';
    return state.names.get(id) || ('guest-' + String(id || '?').slice(0, 8));
  }

  function show(kind, from, text, ts, mine, past) {
    const li = document.createElement('li');
    li.className = 'msg-' + kind + (mine ? ' mine' : '') + (past ? ' past' : '');
    const t = document.createElement('span');
    t.className = 'time';
    t.textContent = timeOf(ts);
    li.appendChild(t);
    if (from) {
      const f = document.createElement('span');
      f.className = 'from';
      f.textContent = from;
      li.appendChild(f);
    }
    const b = document.createElement('span');
    b.className = 'text';
    b.textContent = text;
    li.appendChild(b);
    const atBottom = ui.list.scrollTop + ui.list.clientHeight >= ui.list.scrollHeight - 8;
    ui.list.appendChild(li);
    while (ui.list.childElementCount > MAX_SHOWN) ui.list.firstElementChild.remove();
    if (atBottom) ui.list.scrollTop = ui.list.scrollHeight;
  }

  function dataText(data) {
    if (!data || typeof data !== 'object') return '';
    if (typeof data.content === 'string') return data.content;
    if (typeof data.text === 'string') return data.text;
    if (typeof data.message === 'string') return data.message;
    return JSON.stringify(data);
  }

  function renderMembers() {
    ui.members.textContent = '';
    for (const id of state.members.keys()) {
      const li = document.createElement('li');
      li.textContent = who(id);
      li.dataset.id = id;
      ui.members.appendChild(li);
    }
  }

  // A message with an offset: skip one seen already (a client-side guard:
  // the server sends each once), remember the newest.
  function seen(m) {
    if (typeof m.offset !== 'number') return false;
    if (!m.history && state.offset !== null && m.offset <= state.offset) return true;
    if (state.offset === null || m.offset > state.offset) state.offset = m.offset;
    return false;
  }

  function onWelcome(m, data) {
    state.myId = data.client_id || '';
    state.attempt = 0;            // a real session: the next loss starts small again
    if (data.recovered === false) {
      // the gap is older than what is kept, or the history was lost: start
      // again from the recent messages
      show('state', '', 'some messages could not be recovered; reloading the room', m.timestamp);
      state.offset = null;
      state.epoch = '';
      ui.list.textContent = '';
      const old = state.ws;
      state.ws = null;
      old.close(1000);
      connect();
      return;
    }
    if (typeof data.epoch === 'string') state.epoch = data.epoch;
    if (state.offset === null && typeof data.offset === 'number') state.offset = data.offset;
    setState('open', 'connected');
    show('state', '', (data.recovered ? 'reconnected to ' : 'connected to ') +
      (data.room ? 'room ' + data.room : 'the global channel'), m.timestamp);
    if (data.room) state.ws.send(JSON.stringify({ type: 'members' }));
  }

  function onMessage(ev) {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    const data = m.data || {};
    switch (m.type) {
      case 'system':
        if (data.event === 'welcome') onWelcome(m, data);
        else show('system', m.from || 'server', dataText(data), m.timestamp);
        break;
      case 'chat':
        if (seen(m)) break;
        if (typeof data.name === 'string' && data.name && state.names.get(m.from) !== data.name.slice(0, 40)) {
          state.names.set(m.from, data.name.slice(0, 40));
          renderMembers();
        }
        show('chat', who(m.from), dataText(data), m.timestamp, m.from === state.myId, m.history);
        break;
      case 'presence':
        if (data.status === 'online') state.members.set(m.from, m.timestamp);
        else state.members.delete(m.from);
        renderMembers();
        if (m.from !== state.myId)
          show('presence', '', who(m.from) + (data.status === 'online' ? ' joined' : ' left'), m.timestamp);
        break;
      case 'members':
        state.members = new Map((data.members || []).map((x) => [x.client_id, x.since]));
        renderMembers();
        break;
      case 'notification':
        if (seen(m)) break;
        show('notification', m.from || 'server', dataText(data), m.timestamp, false, m.history);
        break;
      case 'error':
        show('error', '', 'error: ' + (data.message || data.code || 'unknown'), m.timestamp);
        break;
      default:
        break;                     // pong and future types
    }
  }

  // Full jitter: a random delay in [d/2, d), d doubling up to BACKOFF_MAX.
  function backoff() {
    const d = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, state.attempt));
    state.attempt = Math.min(state.attempt + 1, 10);
    return Math.round(d / 2 + Math.random() * d / 2);
  }

  // why: shown once per lost session, not for every failed attempt.
  function scheduleReconnect(why) {
    const delay = backoff();
    setState('waiting', 'reconnecting in ' + Math.ceil(delay / 1000) + ' s');
    if (why !== null) show('state', '', 'disconnected' + (why ? ' (' + why + ')' : '') + '; reconnecting', null);
    clearTimeout(state.timer);
    state.timer = setTimeout(connect, delay);
  }

  function connect() {
    clearTimeout(state.timer);
    if (!state.wanted) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = new URLSearchParams(location.search).get('token');   // auth_enabled: a JWT
    const q = new URLSearchParams();
    if (token) q.set('token', token);
    if (state.offset !== null && state.epoch) {      // back: what was missed
      q.set('since', String(state.offset));
      q.set('epoch', state.epoch);
    } else {
      q.set('history', String(HISTORY));             // new: the recent messages
    }
    const path = prefix() + '/ws' + (state.room ? '/' + encodeURIComponent(state.room) : '') +
      '?' + q.toString();
    setState('connecting', 'connecting…');
    let ws;
    try {
      ws = new WebSocket(scheme + '//' + location.host + path);
    } catch (e) {
      scheduleReconnect(null);
      return;
    }
    state.ws = ws;
    let opened = false;
    ws.onopen = () => { opened = true; };
    ws.onmessage = (ev) => { if (state.ws === ws) onMessage(ev); };
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;  // an old socket after a room change
      state.ws = null;
      const why = !opened ? null : ev.code ? 'code ' + ev.code + (ev.reason ? ', ' + ev.reason : '') : '';
      if (state.wanted) scheduleReconnect(why);
      else setState('closed', 'not connected');
    };
    ws.onerror = () => {};          // onclose follows and reconnects
  }

  function join(room, name) {
    state.wanted = false;
    if (state.ws) { const old = state.ws; state.ws = null; old.close(1000); }
    state.room = room;
    state.name = name;
    state.attempt = 0;
    state.offset = null;
    state.epoch = '';
    state.members = new Map();
    renderMembers();
    state.wanted = true;
    ui.list.textContent = '';
    ui.where.textContent = room ? 'Room ' + room + ' as ' + name : 'Global channel as ' + name;
    try { localStorage.setItem('chatd.name', name); } catch (e) { /* private mode */ }
    const q = new URLSearchParams(location.search);
    q.set('room', room);
    history.replaceState(null, '', '?' + q.toString() + location.hash);
    connect();
    ui.input.focus();
  }

  ui.join.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const room = ui.room.value.trim();
    const name = ui.name.value.trim() || 'anonymous';
    if (room && !ROOM_RE.test(room)) {
      ui.room.setCustomValidity('1-128 of A-Z a-z 0-9 . _ : -');
      ui.room.reportValidity();
      return;
    }
    ui.room.setCustomValidity('');
    join(room, name);
  });
  ui.room.addEventListener('input', () => ui.room.setCustomValidity(''));

  function send() {
    const text = ui.input.value.trim();
    if (!text || !state.ws || state.ws.readyState !== WebSocket.OPEN) return;
    state.ws.send(JSON.stringify({ type: 'chat', data: { content: text, name: state.name } }));
    ui.input.value = '';
  }
  ui.composer.addEventListener('submit', (ev) => { ev.preventDefault(); send(); });
  ui.input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });

  // Start: room from ?room=, name from the last visit; join at once when both are known.
  const q = new URLSearchParams(location.search);
  ui.room.value = q.get('room') || 'lobby';
  let saved = '';
  try { saved = localStorage.getItem('chatd.name') || ''; } catch (e) { /* private mode */ }
  ui.name.value = q.get('name') || saved;
  setState('idle', 'not connected');
  if (ui.name.value && ROOM_RE.test(ui.room.value)) join(ui.room.value, ui.name.value.trim());
  else ui.name.focus();
})();
