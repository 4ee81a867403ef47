// The explainme workbench's one script: the case viewer (CT in a window/level of the reader's
// choice, the heatmap overlaid at a chosen opacity and threshold, a slice scroller for volumes) and the
// reader's name remembered between forms. Pages work without it; the viewer needs it.
// Embedded in the binary (src/web/mod.rs); no library, no build step.
(function () {
  'use strict';

  function decode(base64) {
    var text = atob(base64);
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  // `rrggbb` × 256 → [[r, g, b], …].
  function colours(hex) {
    var out = [];
    for (var i = 0; i + 6 <= hex.length; i += 6) {
      out.push([parseInt(hex.substr(i, 2), 16), parseInt(hex.substr(i + 2, 2), 16),
        parseInt(hex.substr(i + 4, 2), 16)]);
    }
    return out;
  }

  function viewer() {
    var source = document.getElementById('viewer-data');
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var depth = data.shape[0], rows = data.shape[1], cols = data.shape[2];
    var raw = decode(data.hounsfield);
    var hu = new DataView(raw.buffer);
    var lut = colours(data.colormap);
    var heat = data.heatmap;
    var levels = heat ? decode(heat.levels) : null;

    var ct = document.getElementById('ct');
    var overlay = document.getElementById('overlay');
    var centre = document.getElementById('window-centre');
    var width = document.getElementById('window-width');
    var opacity = document.getElementById('opacity');
    var slice = document.getElementById('slice');
    ct.width = cols;
    ct.height = rows;
    // Keep the physical aspect: x spacing over y spacing.
    var aspect = (cols * data.spacing[2]) / (rows * data.spacing[1]);
    ct.style.aspectRatio = overlay.style.aspectRatio = String(aspect);
    if (heat) {
      overlay.width = heat.shape[2];
      overlay.height = heat.shape[1];
    } else {
      overlay.hidden = true;
    }

    function currentSlice() {
      return slice ? Number(slice.value) : 0;
    }

    function show(id, text) {
      var out = document.getElementById(id);
      if (out) out.textContent = text;
    }

    function drawCt() {
      var c = Number(centre.value), w = Math.max(1, Number(width.value));
      var low = c - w / 2;
      var z = currentSlice();
      var context = ct.getContext('2d');
      var picture = context.createImageData(cols, rows);
      var offset = z * rows * cols;
      for (var i = 0; i < rows * cols; i++) {
        var t = (hu.getInt16(2 * (offset + i), true) - low) / w;
        var grey = Math.round(255 * Math.min(1, Math.max(0, t)));
        picture.data[4 * i] = picture.data[4 * i + 1] = picture.data[4 * i + 2] = grey;
        picture.data[4 * i + 3] = 255;
      }
      context.putImageData(picture, 0, 0);
      ct.dataset.window = c + '/' + w;
      ct.setAttribute('aria-label', 'CT slice ' + z + ', window centre ' + c + ' HU, width ' + w + ' HU');
      show('window-centre-value', c);
      show('window-width-value', w);
      show('slice-value', z);
    }

    function drawOverlay() {
      if (!heat) return;
      var hd = heat.shape[0], hr = heat.shape[1], hc = heat.shape[2];
      // The map may lie on the model's grid: its slice nearest to the image's.
      var z = depth > 1 && hd > 1 ? Math.round(currentSlice() * (hd - 1) / (depth - 1)) : 0;
      var context = overlay.getContext('2d');
      var picture = context.createImageData(hc, hr);
      var cut = 255 * threshold();
      var offset = z * hr * hc;
      for (var i = 0; i < hr * hc; i++) {
        var level = levels[offset + i];
        if (level <= cut) continue;
        var colour = lut[level];
        picture.data[4 * i] = colour[0];
        picture.data[4 * i + 1] = colour[1];
        picture.data[4 * i + 2] = colour[2];
        picture.data[4 * i + 3] = 255;
      }
      context.putImageData(picture, 0, 0);
    }

    // The reports' threshold (10% of the map's range) unless the reader moves it.
    var thresholdInput = document.getElementById('threshold');
    function threshold() {
      return thresholdInput ? Number(thresholdInput.value) / 100 : heat.threshold;
    }

    function drawColourBar() {
      var bar = document.getElementById('colourbar');
      if (!bar || !heat) return;
      var barContext = bar.getContext('2d');
      for (var x = 0; x < 256; x++) {
        var colour = x <= 255 * threshold() ? [128, 128, 128] : lut[x];
        barContext.fillStyle = 'rgb(' + colour.join(',') + ')';
        barContext.fillRect(x, 0, 1, bar.height);
      }
      show('threshold-value', Math.round(100 * threshold()) + '% of its range');
    }

    function applyOpacity() {
      overlay.style.opacity = String(Number(opacity.value) / 100);
      show('opacity-value', opacity.value + '%');
    }

    centre.addEventListener('input', drawCt);
    width.addEventListener('input', drawCt);
    opacity.addEventListener('input', applyOpacity);
    if (slice) {
      var start = heat && heat.shape[0] > 1
        ? Math.round(heat.peak_slice * (depth - 1) / (heat.shape[0] - 1))
        : Math.floor(depth / 2);
      slice.value = String(start);
      slice.addEventListener('input', function () { drawCt(); drawOverlay(); });
    }
    Array.prototype.forEach.call(document.querySelectorAll('.presets button'), function (button) {
      button.addEventListener('click', function () {
        centre.value = button.dataset.centre;
        width.value = button.dataset.width;
        drawCt();
      });
    });

    if (thresholdInput) {
      thresholdInput.addEventListener('input', function () { drawOverlay(); drawColourBar(); });
    }
    drawColourBar();
    drawCt();
    drawOverlay();
    applyOpacity();
    document.body.dataset.viewer = 'ready';
  }

  // Every stored form carries the reader's name; it is kept in this browser only.
  function reader() {
    var key = 'explainme.reader';
    var stored = '';
    try { stored = window.localStorage.getItem(key) || ''; } catch (e) { return; }
    Array.prototype.forEach.call(document.querySelectorAll('input[name=author]'), function (input) {
      if (!input.value) input.value = stored;
      input.form.addEventListener('submit', function () {
        try { window.localStorage.setItem(key, input.value); } catch (e) { /* private mode */ }
      });
    });
  }

  viewer();
  reader();
})();
