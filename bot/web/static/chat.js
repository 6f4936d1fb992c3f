/* 匠心点单 local web chat: choose who you are, then talk to the bot in groups or 1:1. */
'use strict';

(() => {
  const POLL_MS = 1500;
  const ROLES = [['enterprise', '企业联系人'], ['expert', '专家'], ['admin', '管理员']];
  const ORDER_EXAMPLE = '点单：我们车间不锈钢薄板焊完后变形很厉害，返工率高，想请焊接老师傅来厂现场指导。'
    + '联系人吴经理 13867201234，下周三前';
  const EXAMPLES = [['点单：…', ORDER_EXAMPLE], ...['接单 1', '服务清单', '帮助', '查询 1', '我的单']
    .map((t) => [t, t])];

  const state = {
    dir: { bot: { id: 'bot', name: '匠心点单' }, users: [], chats: [] },
    me: null,           // the user object chosen in "我是"
    chatId: null,       // the open chat
    quote: null,        // the message the next one quotes: { id, sender, text }
    logs: new Map(),    // chat id -> { last, ids, msgs, unread, loaded }
    dirError: '',       // kept on the banner while the server is reachable
  };

  // ---- small helpers ----
  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  const store = {
    get(key) { try { return localStorage.getItem(key); } catch { return null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch { /* private mode */ } },
  };
  const bareId = (id) => String(id ?? '').replace(/^local:/, '');
  const userOf = (id) => state.dir.users.find((u) => u.id === bareId(id));
  const isBot = (m) => m.from_bot === true || bareId(m.sender) === state.dir.bot.id;
  const isMine = (m) => !isBot(m) && state.me !== null && bareId(m.sender) === state.me.id;
  function nameOf(id) {
    if (bareId(id) === state.dir.bot.id) return state.dir.bot.name;
    const user = userOf(id);
    return user ? user.name || user.id : bareId(id);
  }
  const senderName = (m) => (isBot(m) ? state.dir.bot.name : (m.sender_name || nameOf(m.sender)));
  function log(chatId) {
    if (!state.logs.has(chatId)) {
      state.logs.set(chatId, { last: 0, ids: new Set(), msgs: [], unread: 0, loaded: false });
    }
    return state.logs.get(chatId);
  }
  function setLine(id, text) {
    $(id).textContent = text;
    $(id).hidden = !text;
  }
  const banner = (text) => setLine('banner', text);
  const showError = (text) => setLine('error', text);
  const showHint = (text) => setLine('hint', text);
  const IGNORED = '这条群消息没有 @{bot}，机器人收不到（钉钉、企业微信的群里也是这样）。';
  function formatTime(ts) {
    const d = new Date(ts);
    if (!ts || Number.isNaN(d.getTime())) return '';
    const hm = d.toLocaleTimeString('zh-CN', { hour: '2-digit', minute: '2-digit', hour12: false });
    if (d.toDateString() === new Date().toDateString()) return hm;
    return `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
  }

  // ---- the local API, with its token when the server asks for one ([local] token) ----
  const TOKEN_KEY = 'diandan.localToken';
  let asked = null;  // one prompt at a time, shared by concurrent calls
  let declined = false;  // the prompt was cancelled: do not ask again on every poll
  function savedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
  }
  async function api(path, init = {}) {
    const call = () => {
      const token = savedToken();
      const headers = { ...(init.headers || {}) };
      if (token) headers.Authorization = `Bearer ${token}`;
      return fetch(path, { ...init, headers });
    };
    let res = await call();
    if (res.status === 401 && !declined) {
      asked = asked || Promise.resolve(window.prompt('本机接口需要令牌（配置文件 [local] token），请输入：'));
      const given = await asked;
      asked = null;
      declined = !given;
      if (given) {
        try { sessionStorage.setItem(TOKEN_KEY, given.trim()); } catch { /* private mode */ }
        res = await call();
      }
    }
    return res;
  }

  // ---- directory and chats ----
  async function loadDirectory() {
    try {
      const res = await api('/api/local/directory');
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const data = await res.json();
      state.dir = {
        bot: data.bot && data.bot.id ? data.bot : state.dir.bot,
        users: Array.isArray(data.users) ? data.users.filter((u) => u && u.id) : [],
        chats: Array.isArray(data.chats) ? data.chats.filter((c) => c && c.id) : [],
      };
    } catch (err) {
      state.dirError = `无法加载通讯录（${err.message}），先以访客身份体验。`;
      banner(state.dirError);
    }
    if (state.dir.users.length === 0) {
      state.dir.users = [{ id: 'guest', name: '访客', role: 'enterprise' }];
    }
  }

  function myChats() {
    const me = state.me;
    if (!me) return [];
    const groups = state.dir.chats
      .filter((c) => c.type !== 'single')
      .filter((c) => me.role === 'admin' || (c.members || []).includes(me.id))
      .map((c) => ({ id: c.id, name: c.name || c.id, type: 'group', size: (c.members || []).length }));
    return [...groups, { id: `dm-${me.id}`, name: `与${state.dir.bot.name}私聊`, type: 'single' }];
  }
  const currentChat = () => myChats().find((c) => c.id === state.chatId);

  function renderWho() {
    const select = $('who');
    select.replaceChildren();
    const known = new Set(ROLES.map(([role]) => role));
    const sections = [...ROLES, ['', '其他']];
    for (const [role, label] of sections) {
      const users = state.dir.users.filter((u) => (role ? u.role === role : !known.has(u.role)));
      if (users.length === 0) continue;
      const group = el('optgroup');
      group.label = label;
      for (const u of users) {
        const option = el('option', null, u.org ? `${u.name}（${u.org}）` : u.name);
        option.value = u.id;
        group.append(option);
      }
      select.append(group);
    }
  }

  function renderChatList() {
    const list = $('chat-list');
    list.replaceChildren();
    for (const chat of myChats()) {
      const lg = log(chat.id);
      const item = el('li');
      const button = el('button', `chat-item${chat.id === state.chatId ? ' active' : ''}`);
      button.type = 'button';
      button.append(el('span', `chat-icon ${chat.type}`, chat.type === 'group' ? '群' : '私'));
      const body = el('span', 'chat-body');
      body.append(el('span', 'chat-name', chat.name));
      const lastMsg = lg.msgs[lg.msgs.length - 1];
      const preview = lastMsg ? `${senderName(lastMsg)}：${lastMsg.text ?? ''}` : '';
      body.append(el('span', 'chat-preview', preview.slice(0, 40)));
      button.append(body);
      if (lg.unread > 0) button.append(el('span', 'badge', lg.unread > 99 ? '99+' : lg.unread));
      button.addEventListener('click', () => selectChat(chat.id));
      item.append(button);
      list.append(item);
    }
  }

  function selectUser(userId) {
    state.me = userOf(userId) || state.dir.users[0];
    store.set('diandan.me', state.me.id);
    const chats = myChats();
    const saved = store.get(`diandan.chat.${state.me.id}`);
    const next = chats.find((c) => c.id === state.chatId)
      || chats.find((c) => c.id === saved) || chats[0];
    selectChat(next.id);
  }

  function selectChat(chatId) {
    if (chatId !== state.chatId) setQuote(null);  // a quote belongs to its chat
    state.chatId = chatId;
    store.set(`diandan.chat.${state.me.id}`, chatId);
    log(chatId).unread = 0;
    const chat = currentChat();
    $('chat-title').textContent = chat ? chat.name : '';
    $('chat-meta').textContent = chat && chat.type === 'group'
      ? `群聊 · ${chat.size} 人 · 勾选 @${state.dir.bot.name} 才会交给机器人`
      : '私聊 · 每条消息机器人都会收到';
    $('at-bot-wrap').hidden = !chat || chat.type !== 'group';
    showError('');
    renderChatList();
    renderMessages();
    tick();
  }

  // ---- messages ----
  function escapeRegExp(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

  // Text with "@姓名" spans; every piece is inserted with textContent (XSS-safe).
  function richText(text, mentionIds) {
    const names = new Set(mentionIds.map(nameOf));
    if (state.me) names.add(state.me.name);
    const sorted = [...names].filter(Boolean).sort((a, b) => b.length - a.length);
    const node = el('div', 'text');
    if (sorted.length === 0) { node.textContent = text; return node; }
    const pattern = new RegExp(`(@(?:${sorted.map(escapeRegExp).join('|')}))`);
    text.split(pattern).forEach((part, i) => {
      if (i % 2 === 0) { if (part) node.append(document.createTextNode(part)); return; }
      node.append(mentionChip(part.slice(1)));
    });
    return node;
  }
  const mentionChip = (name) =>
    el('span', state.me && name === state.me.name ? 'mention me' : 'mention', `@${name}`);

  // A message's picture (the monthly tally chart), only from this server's own image path.
  const IMAGE_PATH = /^\/api\/local\/images\/\d{1,18}\.png$/;
  function chartImage(url) {
    if (typeof url !== 'string' || !IMAGE_PATH.test(url)) return null;
    const img = el('img', 'msg-image');
    img.loading = 'lazy';
    img.decoding = 'async';
    img.alt = '统计图';
    img.src = url;
    return img;
  }

  function messageNode(m) {
    const mentions = (Array.isArray(m.mentions) ? m.mentions : []).map(bareId);
    const text = String(m.text ?? '');
    const li = el('li', 'msg');
    if (isBot(m)) li.classList.add('bot');
    if (isMine(m)) li.classList.add('mine');
    if (state.me && mentions.includes(state.me.id)) li.classList.add('mention-me');
    const head = el('div', 'msg-head');
    head.append(el('span', 'sender', senderName(m)));
    if (isBot(m)) head.append(el('span', 'tag', '机器人'));
    const time = formatTime(m.ts);
    if (time) head.append(el('time', null, time));
    if (Number.isFinite(Number(m.id))) {
      const quoteBtn = el('button', 'quote-btn', '引用');
      quoteBtn.type = 'button';
      quoteBtn.title = '引用这条消息回复（例如引用派单消息说「接单」）';
      quoteBtn.addEventListener('click', () => setQuote(m));
      head.append(quoteBtn);
    }
    const bubble = el('div', 'bubble');
    const quoted = m.quote == null ? null
      : log(state.chatId).msgs.find((x) => String(x.id) === String(m.quote));
    if (quoted) {
      const said = String(quoted.text ?? '').slice(0, 60);
      bubble.append(el('div', 'quoted', `${senderName(quoted)}：${said}`));
    }
    const body = richText(text, mentions);
    if (m.at_bot === true && !isBot(m) && !text.includes(`@${state.dir.bot.name}`)) {
      body.prepend(mentionChip(state.dir.bot.name), ' ');
    }
    bubble.append(body);
    const image = chartImage(m.image);
    if (image) bubble.append(image);
    // Mentioned users the text does not name get a chip row under the text.
    const unnamed = mentions.map(nameOf).filter((name) => !text.includes(`@${name}`));
    if (unnamed.length > 0) {
      const row = el('div', 'mention-row');
      row.append(...unnamed.map(mentionChip));
      bubble.append(row);
    }
    li.append(head, bubble);
    return li;
  }

  function renderMessages() {
    const list = $('messages');
    const msgs = log(state.chatId).msgs;
    list.replaceChildren(...msgs.map(messageNode));
    if (msgs.length === 0) {
      list.append(el('li', 'empty', '还没有消息。点下方的快捷示例试试，或输入「帮助」查看全部命令。'));
    }
    list.scrollTop = list.scrollHeight;
  }

  function appendMessages(msgs) {
    const list = $('messages');
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    for (const m of msgs) list.append(messageNode(m));
    if (nearBottom || msgs.some(isMine)) list.scrollTop = list.scrollHeight;
  }

  // Fetch what is new in one chat; returns true when something changed.
  async function pollChat(chatId) {
    const lg = log(chatId);
    const res = await api(`/api/local/messages?chat=${encodeURIComponent(chatId)}&after=${lg.last}`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = await res.json();
    const fresh = [];
    for (const m of Array.isArray(data.messages) ? data.messages : []) {
      const key = String(m.id);
      if (lg.ids.has(key)) continue;
      lg.ids.add(key);
      lg.msgs.push(m);
      fresh.push(m);
      const n = Number(m.id);
      if (Number.isFinite(n) && n > lg.last) lg.last = n;
    }
    if (lg.loaded && chatId !== state.chatId) lg.unread += fresh.filter((m) => !isMine(m)).length;
    lg.loaded = true;
    if (chatId === state.chatId && fresh.length > 0) appendMessages(fresh);
    return fresh.length > 0;
  }

  let timer = null;
  let running = false;
  let again = false;
  async function tick() {
    clearTimeout(timer);
    if (running) { again = true; return; }
    running = true;
    try {
      const results = await Promise.allSettled(myChats().map((c) => pollChat(c.id)));
      const failed = results.some((r) => r.status === 'rejected');
      banner(failed ? '与服务器的连接中断，正在重试…' : state.dirError);
      if (results.some((r) => r.status === 'fulfilled' && r.value)) renderChatList();
    } finally {
      running = false;
    }
    if (again) { again = false; tick(); return; }
    timer = setTimeout(tick, POLL_MS);
  }

  // ---- quoting ----
  function setQuote(m) {
    state.quote = m ? { id: Number(m.id), sender: senderName(m), text: String(m.text ?? '') } : null;
    $('quote-bar').hidden = !state.quote;
    $('quote-text').textContent = state.quote
      ? `引用 ${state.quote.sender}：${state.quote.text.slice(0, 40)}` : '';
    if (state.quote) $('input').focus();
  }

  // ---- sending ----
  async function send() {
    const input = $('input');
    const chat = currentChat();
    if (!chat || !state.me || $('send').disabled) return;
    if (!input.value.trim()) { showError('请输入消息内容'); return; }
    const body = { chat: chat.id, chat_type: chat.type, sender: state.me.id,
      sender_name: state.me.name, text: input.value,
      at_bot: chat.type === 'single' || $('at-bot').checked };
    if (state.quote) body.quote = state.quote.id;
    $('send').disabled = true;
    showError('');
    showHint('');
    try {
      const res = await api('/api/local/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status === 200) {
        input.value = '';
        autosize();
        setQuote(null);
        if (!body.at_bot) showHint(IGNORED.replace('{bot}', state.dir.bot.name));
      } else {
        let reason = '';
        try { reason = (await res.json()).error || ''; } catch { /* body is not JSON */ }
        showError(`发送失败（${res.status}）${reason ? `：${reason}` : ''}`);
      }
    } catch {
      showError('发送失败：无法连接服务器，请确认 diandan demo 仍在运行');
    } finally {
      $('send').disabled = false;
      input.focus();
      tick();
    }
  }

  function autosize() {
    const input = $('input');
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  function renderChips() {
    for (const [label, text] of EXAMPLES) {
      const chip = el('button', 'chip', label);
      chip.type = 'button';
      chip.title = text;
      chip.addEventListener('click', () => {
        $('input').value = text;
        autosize();
        showError('');
        $('input').focus();
      });
      $('chips').append(chip);
    }
  }

  async function init() {
    renderChips();
    $('composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
    $('quote-cancel').addEventListener('click', () => setQuote(null));
    $('input').addEventListener('input', autosize);
    $('input').addEventListener('keydown', (e) => {
      // Enter sends; Shift+Enter is a newline; Enter that confirms a Chinese IME word does nothing.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        send();
      }
    });
    $('who').addEventListener('change', (e) => selectUser(e.target.value));
    await loadDirectory();
    renderWho();
    const wanted = new URLSearchParams(location.search).get('user') || store.get('diandan.me');
    const me = userOf(wanted) || state.dir.users[0];
    $('who').value = me.id;
    selectUser(me.id);
  }

  init();
})();
