"""Recordings as records: the catalogue of files each meeting has, and the queue of program videos to compose."""
