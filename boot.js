/*! Porchlight widget page boot. The page draws the launcher with HTML and CSS alone; the
 * widget's code (JS glue and wasm) is fetched and started only on the visitor's intent:
 * pointer over, focus on or touch of the launcher, a click or key on it, a command from the
 * host page (Porchlight('open')), or at once for a visitor with a conversation in progress
 * or a panel left open. `preload=idle` also starts it when the browser is idle after the
 * page loaded, `preload=eager` at once. A click before the code is ready is not lost: the
 * app opens the panel when it starts, and after 300 ms the launcher shows it is loading.
 * `cargo xtask build` writes the glue's and the wasm's hashed names in. */
(function () {
  'use strict';
  var GLUE = '__PORCHLIGHT_GLUE__';
  var WASM = '__PORCHLIGHT_WASM__';
  var win = window;
  var params = new URLSearchParams(win.location.search);
  var site = params.get('site') || '';
  var host = params.get('host') || '';
  var framed = win.parent !== win && /^https?:\/\//.test(host);
  var launcher = document.getElementById('pl-boot');
  var root = document.documentElement;
  // The look the loader passes on (the server writes it from the site's configuration):
  // the colours, a forced colour scheme, and the language the server will pick — the
  // first of the visitor's the site has, else its first — with its direction, the
  // launcher's name in it and, unless the site chose a corner, the side it reads from.
  var tags = params.getAll('lang');
  var at = 0;
  navigator.languages.some(function (tag) {
    return (at = tags.indexOf(tag.split('-')[0].toLowerCase())) >= 0;
  }) || (at = 0);
  root.lang = tags[at] || 'en';
  root.dir = params.getAll('rtl').indexOf(root.lang) < 0 ? 'ltr' : 'rtl';
  ['brand', 'on-brand'].forEach(function (name) {
    var value = params.get(name);
    if (/^[\da-f]{6}$/i.test(value)) root.style.setProperty('--pl-' + name, '#' + value);
  });
  var scheme = params.get('scheme');
  if (/^(light|dark)$/.test(scheme)) root.dataset.scheme = scheme;
  var position = /^(bottom-left|rtl)$/.test(params.get('position') || root.dir) ? 'bottom-left' : 'bottom-right';
  if (position === 'bottom-left') {
    document.getElementById('pl-boot-root').classList.add('pl-left');
  }
  var label = params.get('label');
  var name = label || params.getAll('name')[at];
  if (launcher) {
    launcher.lastElementChild.textContent = label;
    if (name) launcher.setAttribute('aria-label', name);
  }
  // The chime the app plays for a new message while the panel is closed, if the site
  // wants one (src/runtime/sound.rs): a soft 880 Hz tone of 0.3 s made with Web Audio,
  // never for a visitor who prefers reduced motion.
  var audio;
  win.__porchlightChime = function () {
    if (win.matchMedia('(prefers-reduced-motion: reduce)').matches) return;
    audio = audio || new AudioContext();
    audio.resume();
    var now = audio.currentTime;
    var tone = audio.createOscillator();
    var volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.setValueAtTime(0.0001, now);
    volume.gain.exponentialRampToValueAtTime(0.1, now + 0.02);
    volume.gain.exponentialRampToValueAtTime(0.0001, now + 0.3);
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(now + 0.3);
  };
  // What the app finds when it starts: host commands and the visitor's click, in order.
  var pending = (win.__porchlightPending = []);
  var started = null;
  var running = false;

  function start() {
    if (!started) {
      started = import(GLUE)
        .then(function (glue) {
          return glue.default({ module_or_path: WASM });
        })
        .then(function () {
          running = true; // the app takes the host's commands from now on
        })
        .catch(function (error) {
          started = null; // the next intent tries again
          if (launcher) launcher.removeAttribute('aria-busy');
          setTimeout(function () { throw error; });
        });
    }
    return started;
  }

  function post(message) {
    if (framed) win.parent.postMessage(message, host);
  }

  function onMessage(event) {
    if (!framed || event.source !== win.parent || event.origin !== host) return;
    var data = event.data;
    if (!data || typeof data !== 'object' || data.type !== 'porchlight:command') return;
    var command = data.command;
    var detail = data.detail;
    // What needs no app: the loader's layout (the panel fills a narrow screen), and what
    // the host says of the visitor, kept for the app (identify, setLocale, reset).
    if (command === 'layout') {
      root.classList.toggle('pl-full', detail === true);
    } else if (command === 'identify') {
      keep('localStorage', 'identity', JSON.stringify(detail));
    } else if (command === 'setLocale') {
      keep('localStorage', 'locale', String(detail));
    } else if (command === 'reset') {
      ['token', 'identity', 'seen'].forEach(function (key) { keep('localStorage', key); });
      ['outbox', 'open'].forEach(function (key) { keep('sessionStorage', key); });
    }
    if (!running) pending.push(data);
    if (command === 'open' || command === 'toggle') start();
  }

  // A stored item of this site: written with a `value`, read with `null`, removed without
  // one. Storage can be blocked: then nothing is kept.
  function keep(storage, key, value) {
    try {
      var area = win[storage];
      key = 'porchlight:' + site + ':' + key;
      if (value === undefined) area.removeItem(key);
      else if (value !== null) area.setItem(key, value);
      return area.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function stored(storage, key) {
    return keep(storage, key, null);
  }

  function opened() {
    pending.push({ type: 'porchlight:command', command: 'open', focus: true });
    var waiting = setTimeout(function () {
      if (launcher) launcher.setAttribute('aria-busy', 'true');
    }, 300);
    start().then(function () { clearTimeout(waiting); });
  }

  win.addEventListener('message', onMessage);
  // Another tab showed the conversation: the app hears it as a command (no listener of
  // its own needed).
  win.addEventListener('storage', function (event) {
    if (running && event.key === 'porchlight:' + site + ':seen' && event.newValue) {
      var data = { type: 'porchlight:command', command: 'seen', detail: event.newValue };
      win.dispatchEvent(new MessageEvent('message', { data: data, origin: host, source: win.parent }));
    }
  });
  if (launcher) {
    ['pointerenter', 'focus', 'touchstart'].forEach(function (name) {
      launcher.addEventListener(name, start, { passive: true });
    });
    launcher.addEventListener('click', opened);
  }
  // The loader sizes the frame and relays commands once told the page is ready.
  // The launcher measures itself (a label widens it): the frame is 36 px wider.
  post({ type: 'porchlight:resize', width: (launcher ? launcher.offsetWidth : 60) + 36, height: 96, position: position });
  post({ type: 'porchlight:ready' });

  var preload = params.get('preload');
  if (stored('localStorage', 'token') || stored('sessionStorage', 'open') === '1' ||
      preload === 'eager' || !framed) {
    start();
  } else if (preload === 'idle') {
    var idle = function () {
      (win.requestIdleCallback || setTimeout)(start);
    };
    if (document.readyState === 'complete') idle();
    else win.addEventListener('load', idle);
  }
})();
