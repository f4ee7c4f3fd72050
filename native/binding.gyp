# The graph binding (tf_graph.cc), linked against the TensorFlow C library
# that @tensorflow/tfjs-node uses. scripts/setup.mjs passes tfjs_node_dir.
{
  'variables': { 'tfjs_node_dir%': '<(module_root_dir)/../node_modules/@tensorflow/tfjs-node' },
  'targets': [{
    'target_name': 'tf_graph',
    'sources': ['tf_graph.cc'],
    'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")", '<(tfjs_node_dir)/deps/include'],
    'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_CPP_EXCEPTIONS'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc!': ['-fno-exceptions'],
    'cflags_cc': ['-std=c++17', '-O2'],
    'conditions': [
      ['OS=="linux"', {
        'libraries': ['-Wl,-rpath,\$$ORIGIN/../../../node_modules/@tensorflow/tfjs-node/deps/lib', '-L<(tfjs_node_dir)/deps/lib', '-ltensorflow'],
      }],
    ],
  }],
}
