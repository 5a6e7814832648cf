// The Sidestream panel's browser code. The panel itself (stream previews,
// analytics, recording controls) is built in a later issue; this entry point
// keeps the webview bundle part of the one build from the start.
export {};
