// face2face
