// The cards page: a photo of a card's QR code fills in its id (the fourth part of the card code).
(function () {
  'use strict';
  var input = document.getElementById('card-photo');
  if (!input) { return; }
  input.addEventListener('change', function () {
    var file = input.files[0];
    if (!file) { return; }
    var img = new Image();
    img.onload = function () {
      var canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      var ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      var found = window.jsQR(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
      var parts = found ? found.data.split('.') : [];
      if (parts.length === 5) {
        document.getElementById('id').value = parts[3];
        document.getElementById('find').submit();
      } else {
        window.alert('No card code found in this picture.');
      }
    };
    img.onerror = function () { window.alert('This picture cannot be read.'); };
    img.src = URL.createObjectURL(file);
  });
}());
