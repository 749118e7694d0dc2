/*! Porchlight embed loader. Paste on any page:
 *   <script async src="https://CHAT-HOST/porchlight.js" data-site="SITE_ID"></script>
 * It creates one iframe in a corner of the page, sizes it when the widget asks, and relays
 * the host page's JS API: Porchlight('open' | 'close' | 'toggle'),
 * Porchlight('on', 'open' | 'close' | 'message' | 'unread', fn), Porchlight('identify', {…}).
 * Calls made before this file has loaded queue up in Porchlight.q (see the README). */
(function (win, doc) {
  'use strict';
  if (win.__porchlight) return; // the snippet ran twice: keep the first widget
  var script = doc.currentScript;
  if (!script || !script.src) return;
  var site = script.getAttribute('data-site') || '';
  var chatOrigin = new URL(script.src, doc.baseURI).origin;
  // The site's embedding options (position, when to fetch the widget's code), written in
  // by the chat server.
  var options = '';
  var frame = doc.createElement('iframe');
  // Listeners by event name, only for the events the widget sends, in an object without a
  // prototype: a name like "__proto__" reaches nothing.
  var listeners = Object.create(null);
  var ready = false;
  var pending = [];
  win.__porchlight = frame;

  frame.src = chatOrigin + '/widget/?site=' + encodeURIComponent(site) +
    '&host=' + encodeURIComponent(win.location.origin) + options;
  frame.title = 'Chat';
  frame.setAttribute('data-porchlight', '');
  var s = frame.style; // CSSOM writes are allowed under a strict style-src
  s.position = 'fixed';
  s.bottom = '0';
  s.right = '0';
  s.width = '0';
  s.height = '0';
  s.border = '0';
  s.margin = '0';
  s.padding = '0';
  s.background = 'transparent';
  s.colorScheme = 'normal';
  s.zIndex = '2147483000';
  s.maxWidth = '100vw';
  s.maxHeight = '100vh';

  function post(message) {
    if (ready && frame.contentWindow) frame.contentWindow.postMessage(message, chatOrigin);
    else pending.push(message);
  }

  function emit(name, detail) {
    (listeners[name] || []).forEach(function (fn) {
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  win.addEventListener('message', function (event) {
    if (event.origin !== chatOrigin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    if (data.type === 'porchlight:ready') {
      ready = true;
      pending.splice(0).forEach(post);
    } else if (data.type === 'porchlight:resize') {
      var w = Number(data.width), h = Number(data.height);
      if (!(w >= 0 && h >= 0 && w <= 4096 && h <= 4096)) return;
      s.width = w + 'px';
      s.height = h + 'px';
      if (data.position === 'bottom-left') { s.left = '0'; s.right = 'auto'; }
      else { s.right = '0'; s.left = 'auto'; }
    } else if (data.type === 'porchlight:event' && typeof data.name === 'string') {
      emit(data.name, data.detail);
    }
  });

  function api(command, arg, fn) {
    if (command === 'on') {
      if (typeof fn === 'function' && /^(open|close|message|unread)$/.test(arg))
        (listeners[arg] = listeners[arg] || []).push(fn);
    } else if (command === 'open' || command === 'close' || command === 'toggle') {
      post({ type: 'porchlight:command', command: command });
    } else if (command === 'identify' && arg && typeof arg === 'object') {
      post({ type: 'porchlight:command', command: 'identify', detail: arg });
    }
  }

  var queued = (win.Porchlight && win.Porchlight.q) || [];
  win.Porchlight = function () { api.apply(null, arguments); };
  queued.forEach(function (args) { api.apply(null, args); });

  // The frame comes once the host page has loaded, so nothing of the chat competes with
  // the page's own content for the network or the main thread.
  function mount() { doc.body.appendChild(frame); }
  if (doc.readyState === 'complete') mount();
  else win.addEventListener('load', mount);
})(window, document);
