"""The application layer: one typed object per family of use cases, each method doing the authorisation, the
engine or store call and returning typed views. The CLI, the HTTP API and the pages are adapters over it that
parse and render; none of them imports another. (Families are moving here one at a time: ``keys`` first.)"""
