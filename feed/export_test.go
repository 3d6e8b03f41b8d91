package feed

// For the end-to-end tests in package feed_test.
var AnnouncedWait = announcedWait
