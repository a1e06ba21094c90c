// The counter page: scan a wallet card or a voucher with the phone's camera (BarcodeDetector where the
// browser has it, jsQR otherwise), from a photo or a pasted picture, or typed; then stamp or redeem it
// through the sink's till path. No inline script: the page's Content-Security-Policy allows none.
(function () {
  'use strict';
  var page = document.getElementById('counter');
  var csrf = page.getAttribute('data-csrf');
  var result = document.getElementById('result');
  var codeInput = document.getElementById('code');
  var locationInput = document.getElementById('location');
  var video = document.getElementById('camera');
  var canvas = document.createElement('canvas');
  var detector = ('BarcodeDetector' in window) ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
  var busy = false;
  var joinShown = null; // the "new customer" screen on show, if any; the camera does not scan behind it
  var joinOpener = null;
  var lastCode = null;
  var lastAt = 0;

  function show(kind, headline, detail) {
    result.className = 'result ' + kind;
    result.textContent = '';
    var h = document.createElement('strong');
    h.textContent = headline;
    result.appendChild(h);
    if (detail) {
      var p = document.createElement('span');
      p.textContent = detail;
      result.appendChild(document.createElement('br'));
      result.appendChild(p);
    }
  }

  function requestId() {
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  function send(code) {
    code = (code || '').trim();
    if (!code || busy) { return; }
    var now = Date.now();
    if (code === lastCode && now - lastAt < 4000) { return; } // the camera sees the same code many times a second
    lastCode = code; lastAt = now; busy = true;
    show('wait', 'Sending\u2026', '');
    var body = JSON.stringify({ code: code, location: locationInput.value, requestId: requestId() });
    var attempt = function (n) {
      return fetch('/api/v1/counter/scan', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: body
      }).then(function (r) {
        return r.json().then(function (j) { return { status: r.status, json: j }; });
      }).catch(function (e) {
        if (n < 2) { return attempt(n + 1); } // the same requestId: a retry is never a second stamp
        throw e;
      });
    };
    attempt(0).then(function (r) {
      if (r.json.headline) {
        show(r.json.ok ? 'ok' : 'refused', r.json.headline, r.json.detail);
      } else {
        show('refused', 'Not done', r.json.detail || ('HTTP ' + r.status));
      }
    }).catch(function () {
      show('refused', 'No connection', 'Nothing was stamped. Try again.');
    }).then(function () { busy = false; });
  }

  function withJsQR(source, width, height) {
    canvas.width = width; canvas.height = height;
    var ctx = canvas.getContext('2d');
    ctx.drawImage(source, 0, 0, width, height);
    var data = ctx.getImageData(0, 0, width, height);
    var found = window.jsQR ? window.jsQR(data.data, width, height) : null;
    return found ? found.data : null;
  }

  // BarcodeDetector where the browser has it and it finds something; jsQR otherwise (some browsers have
  // the object but no QR support on this platform)
  function decodeImage(source, width, height) {
    if (!detector) {
      return Promise.resolve(withJsQR(source, width, height));
    }
    return detector.detect(source).then(function (codes) {
      return codes.length ? codes[0].rawValue : withJsQR(source, width, height);
    }).catch(function () { return withJsQR(source, width, height); });
  }

  function scanFrame() {
    if (video.readyState >= 2 && !busy && !joinShown) {
      decodeImage(video, video.videoWidth, video.videoHeight).then(function (code) {
        if (code) { codeInput.value = code; send(code); }
      }).catch(function () { /* a frame that cannot be read: the next one may */ });
    }
    window.setTimeout(scanFrame, 250);
  }

  function decodeFile(file) {
    if (!file || !file.type || file.type.indexOf('image/') !== 0) { return; }
    var img = new Image();
    img.onload = function () {
      decodeImage(img, img.naturalWidth, img.naturalHeight).then(function (code) {
        if (code) { codeInput.value = code; send(code); } else { show('refused', 'No code found', 'Try a sharper picture.'); }
      });
    };
    img.onerror = function () { show('refused', 'Cannot read this picture', 'Try another photo.'); };
    img.src = URL.createObjectURL(file);
  }

  document.getElementById('start-camera').addEventListener('click', function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show('refused', 'No camera here', 'Use a photo, paste a picture or type the code.');
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      scanFrame();
    }).catch(function (e) {
      show('refused', 'The camera is not available', String(e && e.name || e));
    });
  });
  document.getElementById('photo').addEventListener('change', function (e) { decodeFile(e.target.files[0]); });
  document.addEventListener('paste', function (e) {
    var items = (e.clipboardData || {}).items || [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].type.indexOf('image/') === 0) { decodeFile(items[i].getAsFile()); e.preventDefault(); return; }
    }
  });
  // "New customer": the program's join QR over the whole screen; back with the big button or Escape
  function showJoin(overlay, opener) {
    overlay.hidden = false;
    joinShown = overlay;
    joinOpener = opener;
    overlay.querySelector('.join-back').focus();
  }

  function hideJoin() {
    if (!joinShown) { return; }
    joinShown.hidden = true;
    joinShown = null;
    if (joinOpener) { joinOpener.focus(); }
  }

  Array.prototype.forEach.call(document.querySelectorAll('button.new-customer'), function (button) {
    button.addEventListener('click', function () {
      var overlay = document.getElementById(button.getAttribute('data-overlay'));
      if (overlay) { showJoin(overlay, button); }
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('.join-back'), function (back) {
    back.addEventListener('click', hideJoin);
  });
  document.addEventListener('keydown', function (e) {
    if (joinShown && (e.key === 'Escape' || e.key === 'Esc')) { e.preventDefault(); hideJoin(); }
  });
  document.getElementById('manual').addEventListener('submit', function (e) {
    e.preventDefault();
    lastCode = null;
    send(codeInput.value);
  });
}());
