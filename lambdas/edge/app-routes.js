// CloudFront Function (cloudfront-js-2.0), viewer request, on the default (web app) behaviour:
// the single-page app's routes (`/watch/abc`, `/videos`) have no file extension and all get
// `/index.html`; files (`/assets/app-1a2b.js`, `/config.json`) are served as they are. Done here
// rather than with distribution-wide error responses, which would turn media 403s into the app page.
// The local CDN (local/cdn/cdn.ts) runs this same file.
function handler(event) {
  var request = event.request;
  var last = request.uri.substring(request.uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}
