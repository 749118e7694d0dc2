/*! Porchlight embed loader: one iframe, sized as the widget asks (the open panel on a
 * narrow screen gets the visual viewport), and the API Porchlight(COMMAND, …), queued in
 * Porchlight.q before load. Only the frame's style is written. See the README. */
(function (win, doc) {
  'use strict';
  if (win.__porchlight) return;
  var script = doc.currentScript;
  if (!script || !script.src) return;
  var site = script.getAttribute('data-site') || '';
  var chatOrigin = new URL(script.src, doc.baseURI).origin;
  // The widget's query, z-index, offsets: assets::loader_options.
  var options = ['', 2147483000, 4, 4];
  var frame = doc.createElement('iframe');
  var listeners = Object.create(null);
  var ready, told, full;
  var pending = [];
  var size = [0, 0];
  var view = win.visualViewport || { offsetTop: 0, offsetLeft: 0 };
  win.__porchlight = frame;

  frame.src = chatOrigin + '/widget/?site=' + encodeURIComponent(site) +
    '&host=' + encodeURIComponent(win.location.origin) + options[0];
  frame.title = 'Chat';
  frame.setAttribute('data-porchlight', '');
  var s = frame.style;
  s.cssText = 'position:fixed;bottom:0;right:0;width:0;height:0;border:0;margin:0;padding:0;' +
    'background:transparent;color-scheme:normal;max-width:100vw;max-height:100vh;z-index:' + options[1];

  function post(message) {
    if (ready && frame.contentWindow) frame.contentWindow.postMessage(message, chatOrigin);
    else pending.push(message);
  }

  function command(name, detail) {
    post({ type: 'porchlight:command', command: name, detail: detail });
  }

  function call(fn, detail) {
    try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
  }

  function emit(name, detail) {
    (listeners[name] || []).slice().forEach(function (fn) { call(fn, detail); });
  }

  function layout() {
    var was = full;
    full = size[1] > 96 && win.innerWidth <= 640;
    if (was !== full) command('layout', full);
    s.top = s.left = s.right = s.bottom = 'auto';
    if (full) {
      s.top = view.offsetTop + 'px';
      s.left = view.offsetLeft + 'px';
      s.width = (view.width || win.innerWidth) + 'px';
      s.height = (view.height || win.innerHeight) + 'px';
    } else {
      s.bottom = options[3] + 'px';
      s[size[2] === 'bottom-left' ? 'left' : 'right'] = options[2] + 'px';
      s.width = size[0] + 'px';
      s.height = Math.min(size[1], win.innerHeight - options[3]) + 'px';
    }
  }
  [view, win].forEach(function (target) {
    if (target.addEventListener) target.addEventListener('resize', layout);
  });
  if (view.addEventListener) view.addEventListener('scroll', layout);

  win.addEventListener('message', function (event) {
    if (event.origin !== chatOrigin || event.source !== frame.contentWindow) return;
    var data = event.data;
    var type = data && data.type;
    if (type === 'porchlight:ready') {
      ready = true;
      pending.splice(0).forEach(post);
      if (!told) {
        told = true;
        emit('ready');
      }
    } else if (type === 'porchlight:resize') {
      var w = Number(data.width), h = Number(data.height);
      if (w >= 0 && h >= 0 && w <= 4096 && h <= 4096) {
        size = [w, h, data.position];
        layout();
      }
    } else if (type === 'porchlight:event' && typeof data.name === 'string') {
      emit(data.name, data.detail);
    }
  });

  function api(name, arg, fn) {
    var detail = arg;
    var bad = 'is not a command';
    if (name === 'on' || name === 'off') {
      bad = 'expects an event name and a function';
      if (typeof fn === 'function' &&
          /^(ready|open|close|message|unread|chat:started|chat:ended)$/.test(arg)) {
        var list = (listeners[arg] = (listeners[arg] || []).filter(function (f) { return f !== fn; }));
        if (name === 'on') {
          list.push(fn);
          if (arg === 'ready' && told) call(fn);
        }
        return;
      }
    } else if (/^(open|close|toggle|reset|hide|show)$/.test(name)) {
      if (name === 'hide' || name === 'show') {
        s.display = name === 'hide' ? 'none' : '';
        name = name === 'hide' ? 'close' : '';
      }
      return name && command(name);
    } else if (name === 'identify') {
      bad = 'expects an object';
      try {
        detail = !Array.isArray(arg) && JSON.parse(JSON.stringify(arg));
      } catch (e) { detail = 0; }
      if (detail && typeof detail === 'object') return command(name, detail);
    } else if (name === 'setLocale') {
      bad = 'expects a language tag';
      if (/^[a-z]{2,3}(-[a-z\d]{1,8})*$/i.test(arg)) return command(name, arg);
    }
    if (win.console) console.warn("Porchlight('" + String(name) + "') " + bad);
  }

  var queued = (win.Porchlight && win.Porchlight.q) || [];
  win.Porchlight = function () { api.apply(null, arguments); };
  queued.forEach(function (args) { api.apply(null, args); });

  function mount() { doc.body.appendChild(frame); }
  if (doc.readyState === 'complete') mount();
  else win.addEventListener('load', mount);
})(window, document);
